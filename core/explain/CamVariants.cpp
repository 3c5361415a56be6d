// The gradient-weighted CAM variants of pytorch-grad-cam, each a cam() hook on the CAM base
// (which taps the layer, takes the target's gradient, reshapes tokens and upsamples).
#include "core/explain/CamMethod.h"

namespace heatlens {

namespace {

constexpr double kEps = 1e-7;

// Draelos & Carin 2020: ReLU(sum_k grad_k * A_k), element-wise (no spatial averaging), which
// stays faithful to the model's own computation where Grad-CAM's averaging is not.
class HiResCam : public GradientCamMethod
{
public:
    std::string id() const override { return "hirescam"; }
    std::string name() const override { return "HiResCAM"; }
    std::string description() const override
    {
        return "Activations times their gradients element-wise, summed over channels, "
               "rectified.";
    }

protected:
    torch::Tensor cam(const torch::Tensor &a, const torch::Tensor &g) const override
    {
        return torch::relu((g * a).sum(1))[0];
    }
};

// Chattopadhay et al. 2018: channel weights sum_ij alpha_ij ReLU(grad_ij) with
// alpha = g^2 / (2 g^2 + sum_ij(A) g^3), as pytorch-grad-cam computes them.
class GradCamPlusPlus : public GradientCamMethod
{
public:
    std::string id() const override { return "grad-cam-plus-plus"; }
    std::string name() const override { return "Grad-CAM++"; }
    std::string description() const override
    {
        return "Grad-CAM with pixel-wise weights of positive gradients (better for several "
               "objects).";
    }

protected:
    torch::Tensor cam(const torch::Tensor &a, const torch::Tensor &g) const override
    {
        const auto g2 = g * g, g3 = g2 * g;
        const auto sumA = a.sum({2, 3}, /*keepdim=*/true);
        auto alpha = g2 / (2 * g2 + sumA * g3 + kEps);
        alpha = torch::where(g != 0, alpha, torch::zeros_like(alpha));
        const auto weights = (torch::relu(g) * alpha).sum({2, 3}, /*keepdim=*/true);
        return torch::relu((weights * a).sum(1))[0];
    }
};

// Fu et al. 2020: channel weights sum_ij(grad * A) / sum_ij(A).
class XGradCam : public GradientCamMethod
{
public:
    std::string id() const override { return "xgrad-cam"; }
    std::string name() const override { return "XGrad-CAM"; }
    std::string description() const override
    {
        return "Channel weights from gradients weighted by the normalised activations.";
    }

protected:
    torch::Tensor cam(const torch::Tensor &a, const torch::Tensor &g) const override
    {
        const auto weights = (g * a).sum({2, 3}, true) / (a.sum({2, 3}, true) + kEps);
        return torch::relu((weights * a).sum(1))[0];
    }
};

// Jiang et al. 2021: ReLU(sum_k ReLU(grad_k) * A_k), element-wise; works on shallow layers.
class LayerCam : public GradientCamMethod
{
public:
    std::string id() const override { return "layercam"; }
    std::string name() const override { return "LayerCAM"; }
    std::string description() const override
    {
        return "Activations times their positive gradients element-wise (good on early "
               "layers).";
    }

protected:
    torch::Tensor cam(const torch::Tensor &a, const torch::Tensor &g) const override
    {
        return torch::relu((torch::relu(g) * a).sum(1))[0];
    }
};

// Muhammad & Yeasin 2020: the activations projected on their first principal component
// (class-agnostic: gradients are not used). The component's sign, arbitrary in an SVD, is
// chosen so that the map correlates positively with the summed activations; the map is shifted
// to start at 0, as pytorch-grad-cam's min-max scaling shows it.
class EigenCam : public GradientCamMethod
{
public:
    std::string id() const override { return "eigen-cam"; }
    std::string name() const override { return "Eigen-CAM"; }
    std::string description() const override
    {
        return "First principal component of the layer's activations (class-agnostic).";
    }

protected:
    bool usesGradients() const override { return false; }

    torch::Tensor cam(const torch::Tensor &a, const torch::Tensor &) const override
    {
        const int64_t k = a.size(1), h = a.size(2), w = a.size(3);
        auto x = a[0].reshape({k, h * w}).t().to(torch::kFloat64); // [hw, K]
        x = x - x.mean(0, true);
        auto svd = torch::linalg_svd(x, /*full_matrices=*/false);
        auto projection = torch::matmul(x, std::get<2>(svd)[0]); // [hw]
        const auto total = a[0].sum(0).reshape({h * w}).to(torch::kFloat64);
        if ((projection * (total - total.mean())).sum().item<double>() < 0)
            projection = -projection;
        return (projection - projection.min()).reshape({h, w}).to(torch::kFloat32);
    }
};

} // namespace

std::unique_ptr<Method> makeHiResCam()
{
    return std::make_unique<HiResCam>();
}
std::unique_ptr<Method> makeGradCamPlusPlus()
{
    return std::make_unique<GradCamPlusPlus>();
}
std::unique_ptr<Method> makeXGradCam()
{
    return std::make_unique<XGradCam>();
}
std::unique_ptr<Method> makeLayerCam()
{
    return std::make_unique<LayerCam>();
}
std::unique_ptr<Method> makeEigenCam()
{
    return std::make_unique<EigenCam>();
}

} // namespace heatlens
