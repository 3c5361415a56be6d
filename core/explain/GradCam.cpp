#include "core/explain/CamMethod.h"

namespace heatlens {

namespace {

// Selvaraju et al. 2017: ReLU(sum_k mean_ij(dy/dA_k) A_k).
class GradCam : public GradientCamMethod
{
public:
    std::string id() const override { return "grad-cam"; }
    std::string name() const override { return "Grad-CAM"; }
    std::string description() const override
    {
        return "Layer activations weighted by their spatially averaged gradients, rectified.";
    }

protected:
    torch::Tensor cam(const torch::Tensor &activations,
                      const torch::Tensor &gradients) const override
    {
        auto weights = gradients.mean({2, 3}, /*keepdim=*/true);
        return torch::relu((weights * activations).sum(1))[0];
    }
};

} // namespace

std::unique_ptr<Method> makeGradCam()
{
    return std::make_unique<GradCam>();
}

} // namespace heatlens
