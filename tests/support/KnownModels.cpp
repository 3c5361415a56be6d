#include "tests/support/KnownModels.h"

#include "core/explain/MethodRegistry.h"

namespace heatlens::test {

torch::jit::Module scriptModule(CompilationUnitPtr cu, const std::string &type, bool training)
{
    if (!cu)
        cu = std::make_shared<torch::jit::CompilationUnit>();
    torch::jit::Module m(c10::QualifiedName("__torch__.heatlens_test." + type), cu,
                         /*shouldMangle=*/true);
    m.register_attribute("training", c10::BoolType::get(), training);
    return m;
}

torch::jit::Module linearModule(const torch::Tensor &weight, const torch::Tensor &bias,
                                bool training)
{
    torch::jit::Module m = scriptModule(nullptr, "LinearModel", training);
    m.register_parameter("weight", weight.clone(), false);
    m.register_parameter("bias", bias.clone(), false);
    m.define("def forward(self, x):\n"
             "    return torch.linear(torch.flatten(x, 1), self.weight, self.bias)\n");
    return m;
}

torch::jit::Module convSumModule(const torch::Tensor &convWeight, const torch::Tensor &convBias,
                                 const torch::Tensor &v, const std::string &act)
{
    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    torch::jit::Module conv = scriptModule(cu, "Conv");
    conv.register_parameter("weight", convWeight.clone(), false);
    conv.register_parameter("bias", convBias.clone(), false);
    const std::string pad = std::to_string(convWeight.size(2) / 2);
    conv.define("def forward(self, x):\n    return torch.conv2d(x, self.weight, self.bias, [1, 1], "
                "[" +
                pad + ", " + pad + "], [1, 1], 1)\n");
    torch::jit::Module net = scriptModule(cu, "ConvSumModel");
    net.register_module("conv", conv);
    net.register_parameter("weight", v.clone(), false);
    net.define("def forward(self, x):\n"
               "    a = " +
               act +
               "(self.conv.forward(x))\n"
               "    return torch.matmul(torch.sum(a, [2, 3]), self.weight.t())\n");
    return net;
}

ModelPtr withCard(const torch::jit::Module &module, int channels, int height, int width,
                  std::vector<float> mean, std::vector<float> std, const std::string &name)
{
    ModelCard card;
    card.inputChannels = channels;
    card.inputHeight = height;
    card.inputWidth = width;
    card.mean = std::move(mean);
    card.std = std::move(std);
    return Model::fromModule(module, card, name);
}

Explanation explainWith(const std::string &methodId, const ModelPtr &model,
                        const torch::Tensor &input, int target,
                        const std::map<std::string, std::string> &overrides)
{
    const Method &method = MethodRegistry::instance().get(methodId);
    ExplainRequest request;
    request.model = model;
    request.input = input;
    request.target = target;
    request.params = resolveParams(method.params(), overrides, methodId);
    return method.explain(request, JobContext{});
}

torch::Tensor tensorOf(const cv::Mat &map)
{
    cv::Mat m = map.clone();
    return torch::from_blob(m.data, {m.rows, m.cols}, torch::kFloat32).clone();
}

cv::Mat mapOf(const torch::Tensor &tensor)
{
    auto c = tensor.to(torch::kFloat32).contiguous();
    return cv::Mat(int(c.size(0)), int(c.size(1)), CV_32FC1, c.data_ptr<float>()).clone();
}

LinearCase::LinearCase(std::vector<float> mean, std::vector<float> std)
{
    torch::manual_seed(21);
    weight = torch::randn({3, 2 * 3 * 4});
    bias = torch::tensor({0.5f, -1.0f, 2.0f});
    model = withCard(linearModule(weight, bias), 2, 3, 4, std::move(mean), std::move(std));
    input = torch::randn({1, 2, 3, 4});
}

cv::Mat goldenInput()
{
    cv::Mat image(28, 28, CV_8UC1);
    for (int r = 0; r < 28; ++r)
        for (int c = 0; c < 28; ++c) {
            const bool disc = (r - 14) * (r - 14) + (c - 10) * (c - 10) < 40;
            image.at<uchar>(r, c) = uchar((r * 5 + c * 3 + (disc ? 110 : 0)) % 256);
        }
    return image;
}

torch::jit::Module goldenModule(int variant)
{
    auto weight = torch::empty({10, 28 * 28});
    for (int k = 0; k < 10; ++k)
        for (int i = 0; i < 28 * 28; ++i)
            weight[k][i] = float((i * 37 + k * 11 + variant * 5) % 23 - 11) / 8.0f;
    auto bias = torch::zeros({10});
    bias[3] = 1000.0f;
    return linearModule(weight, bias, false);
}

} // namespace heatlens::test
