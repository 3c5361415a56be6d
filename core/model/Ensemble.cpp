#include "core/model/Ensemble.h"

#include "core/model/ModuleBuilder.h"

#include <cmath>
#include <sstream>

namespace heatlens {

torch::jit::Module composeEnsemble(const std::vector<torch::jit::Module> &members)
{
    if (members.empty())
        throw std::invalid_argument("an ensemble needs at least one member");
    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    auto net = builder::makeModule(cu, "HeatlensEnsemble");
    net.register_module("members", builder::moduleList(cu, members));
    std::ostringstream src;
    src.precision(17);
    src << "def member_logits(self, x):\n    return torch.stack([";
    for (size_t i = 0; i < members.size(); ++i)
        src << builder::item("members", i) << ".forward(x), ";
    src << "], 0)\n\n"
        << "def forward(self, x):\n"
        << "    logp = torch.log_softmax(self.member_logits(x), 2)\n"
        << "    return torch.logsumexp(logp, 0) - " << std::log(double(members.size())) << "\n";
    net.define(src.str());
    net.eval();
    return net;
}

} // namespace heatlens
