#include "core/model/Ensemble.h"

#include "core/model/Model.h"
#include "core/model/ModuleBuilder.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

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

EnsembleVote ensembleVote(const Model &ensemble, const torch::Tensor &input)
{
    if (!ensemble.isEnsemble())
        throw std::invalid_argument(ensemble.displayName() + " is not an ensemble");
    torch::InferenceMode inference;
    EnsembleVote vote;
    const auto probs = torch::softmax(ensemble.predict(input), 1)[0];
    vote.ensembleClass = int(probs.argmax().item<int64_t>());
    vote.ensembleProb = probs[vote.ensembleClass].item<float>();
    for (const auto &member : ensemble.members()) {
        const auto p = torch::softmax(member->predict(input), 1)[0];
        EnsembleVote::Member m;
        m.predicted = int(p.argmax().item<int64_t>());
        m.predictedProb = p[m.predicted].item<float>();
        m.probOfEnsembleClass = p[vote.ensembleClass].item<float>();
        vote.members.push_back(m);
    }
    const double n = double(vote.members.size());
    for (const auto &m : vote.members)
        vote.meanProbOfEnsembleClass += double(m.probOfEnsembleClass) / n;
    double var = 0.0;
    for (const auto &m : vote.members)
        var += std::pow(double(m.probOfEnsembleClass) - vote.meanProbOfEnsembleClass, 2) / n;
    vote.stdProbOfEnsembleClass = std::sqrt(var);
    return vote;
}

} // namespace heatlens
