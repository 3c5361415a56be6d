#pragma once

#include <string>
#include <vector>

namespace heatlens {

// Points alpha in [0, 1] and weights (summing to 1) approximating the integral over [0, 1].
struct Quadrature
{
    std::vector<double> alphas;
    std::vector<double> weights;
};

// rule: riemann-left | riemann-right | riemann-middle | riemann-trapezoid | gauss-legendre
Quadrature quadrature(const std::string &rule, int steps);

const std::vector<std::string> &quadratureRules();

} // namespace heatlens
