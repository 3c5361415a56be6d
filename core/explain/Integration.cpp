#include "core/explain/Integration.h"

#include <cmath>
#include <stdexcept>

namespace heatlens {

namespace {

// Legendre P_n and its derivative at x, by the three-term recurrence.
std::pair<double, double> legendre(int n, double x)
{
    double p0 = 1.0, p1 = x;
    for (int k = 2; k <= n; ++k) {
        double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
        p0 = p1;
        p1 = p2;
    }
    double dp = n * (x * p1 - p0) / (x * x - 1.0);
    return {n == 0 ? 1.0 : p1, dp};
}

Quadrature gaussLegendre(int n)
{
    Quadrature q;
    for (int i = 1; i <= n; ++i) {
        double x = std::cos(M_PI * (i - 0.25) / (n + 0.5)); // Tricomi's initial guess
        for (int iter = 0; iter < 100; ++iter) {
            auto [p, dp] = legendre(n, x);
            double dx = p / dp;
            x -= dx;
            if (std::abs(dx) < 1e-15)
                break;
        }
        double dp = legendre(n, x).second;
        q.alphas.push_back((1.0 - x) / 2.0);                  // [-1, 1] -> [0, 1], ascending
        q.weights.push_back(1.0 / ((1.0 - x * x) * dp * dp)); // 2/(..) halved for [0, 1]
    }
    return q;
}

Quadrature riemann(const std::string &rule, int n)
{
    Quadrature q;
    for (int i = 0; i < n; ++i) {
        if (rule == "riemann-left")
            q.alphas.push_back(double(i) / n);
        else if (rule == "riemann-right")
            q.alphas.push_back(double(i + 1) / n);
        else
            q.alphas.push_back((i + 0.5) / n);
        q.weights.push_back(1.0 / n);
    }
    return q;
}

Quadrature trapezoid(int n)
{
    Quadrature q;
    if (n == 1)
        return {{0.5}, {1.0}};
    for (int i = 0; i < n; ++i) {
        q.alphas.push_back(double(i) / (n - 1));
        q.weights.push_back((i == 0 || i == n - 1 ? 0.5 : 1.0) / (n - 1));
    }
    return q;
}

} // namespace

const std::vector<std::string> &quadratureRules()
{
    static const std::vector<std::string> rules{"gauss-legendre", "riemann-left", "riemann-right",
                                                "riemann-middle", "riemann-trapezoid"};
    return rules;
}

Quadrature quadrature(const std::string &rule, int steps)
{
    if (steps < 1)
        throw std::invalid_argument("integration needs at least one step, got " +
                                    std::to_string(steps));
    if (rule == "gauss-legendre")
        return gaussLegendre(steps);
    if (rule == "riemann-trapezoid")
        return trapezoid(steps);
    if (rule == "riemann-left" || rule == "riemann-right" || rule == "riemann-middle")
        return riemann(rule, steps);
    throw std::invalid_argument("unknown integration rule \"" + rule + "\"");
}

} // namespace heatlens
