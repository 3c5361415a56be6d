#include "core/model/DemoGroups.h"

#include "core/model/ModuleBuilder.h"

#include <sstream>
#include <stdexcept>

namespace heatlens {

std::vector<std::pair<int, int>> GroupsConfig::pairs() const
{
    std::vector<std::pair<int, int>> result;
    for (int r = 0; r < grid; ++r)
        for (int c = 0; c + 1 < grid; ++c)
            result.emplace_back(r * grid + c, r * grid + c + 1);
    for (int r = 0; r + 1 < grid; ++r)
        for (int c = 0; c < grid; ++c)
            result.emplace_back(r * grid + c, (r + 1) * grid + c);
    return result;
}

namespace {

using namespace builder;

Module expertLayers(const CU &cu, const std::string &type, int in, int mid, const GroupsConfig &c)
{
    Module m = makeModule(cu, type);
    m.register_module("fc1", linear(cu, in, c.hidden));
    m.register_module("relu1", relu(cu));
    m.register_module("fc2", linear(cu, mid, c.hidden));
    m.register_module("relu2", relu(cu));
    m.register_module("head", linear(cu, c.hidden, c.classes));
    m.register_module("confidence", linear(cu, c.hidden, 1));
    return m;
}

// forward(x) -> (hidden features, logits, confidence score [N, 1])
Module groupExpert(const CU &cu, const GroupsConfig &c)
{
    const int pixels = c.inputChannels * c.patch() * c.patch();
    Module m = expertLayers(cu, "GroupExpert", pixels, c.hidden, c);
    m.define(R"(
def forward(self, x):
    h = self.relu1.forward(self.fc1.forward(x))
    h = self.relu2.forward(self.fc2.forward(h))
    return h, self.head.forward(h), self.confidence.forward(h)
)");
    return m;
}

// forward(x, features of both groups, mean of both groups' logits) -> (logits, score [N, 1]).
// The caller passes the group experts' values detached: the pair learns only a residual.
Module pairExpert(const CU &cu, const GroupsConfig &c)
{
    const int pixels = 2 * c.inputChannels * c.patch() * c.patch();
    Module m = expertLayers(cu, "PairExpert", pixels, 3 * c.hidden, c);
    m.define(R"(
def forward(self, x, ha, hb, base):
    h = self.relu1.forward(self.fc1.forward(x))
    h = self.relu2.forward(self.fc2.forward(torch.cat([h, ha, hb], 1)))
    return base + self.head.forward(h), self.confidence.forward(h)
)");
    return m;
}

// The patches of x, [n, groups, channels x patch x patch].
std::string patchesOf(const GroupsConfig &c, const std::string &x)
{
    const int g = c.grid, p = c.patch(), ch = c.inputChannels;
    std::ostringstream src;
    src << x << ".reshape([" << x << ".size(0), " << ch << ", " << g << ", " << p << ", " << g
        << ", " << p << "]).permute([0, 2, 4, 1, 3, 5]).reshape([" << x << ".size(0), " << g * g
        << ", " << ch * p * p << "])";
    return src.str();
}

// The additive model's methods: terms(x), and exact_shapley / exact_interactions against a
// baseline, from group expert outputs on x and b and every pair expert on the four mixes.
std::string additiveSource(const GroupsConfig &c)
{
    const auto pairs = c.pairs();
    const int groups = c.numGroups();
    std::ostringstream src;
    src << "def terms(self, x):\n"
        << "    p = " << patchesOf(c, "x") << "\n";
    std::string logits, residuals;
    for (int i = 0; i < groups; ++i) {
        const std::string s = std::to_string(i);
        src << "    h" << s << ", z" << s << ", s" << s << " = "
            << builder::item("groups", size_t(i)) << ".forward(p[:, " << s << "])\n";
        logits += "z" + s + ", ";
    }
    for (size_t k = 0; k < pairs.size(); ++k) {
        const std::string a = std::to_string(pairs[k].first), b = std::to_string(pairs[k].second);
        const std::string s = std::to_string(k);
        src << "    base" << s << " = ((z" << a << " + z" << b << ") * 0.5).detach()\n"
            << "    y" << s << ", t" << s << " = " << builder::item("pairs", k)
            << ".forward(torch.cat([p[:, " << a << "], p[:, " << b << "]], 1), h" << a
            << ".detach(), h" << b << ".detach(), base" << s << ")\n";
        residuals += "y" + s + " - base" + s + ", ";
    }
    src << "    return torch.stack([" << logits << "], 1), torch.stack([" << residuals << "], 1)\n";
    // Group outputs on x and on the baseline b; each pair's residual on the four mixes.
    src << "def moebius(self, x, b):\n"
        << "    px = " << patchesOf(c, "x") << "\n"
        << "    pb = " << patchesOf(c, "b") << "\n";
    for (int i = 0; i < groups; ++i) {
        const std::string s = std::to_string(i), g = builder::item("groups", size_t(i));
        src << "    hx" << s << ", zx" << s << ", sx" << s << " = " << g << ".forward(px[:, " << s
            << "])\n"
            << "    hb" << s << ", zb" << s << ", sb" << s << " = " << g << ".forward(pb[:, " << s
            << "])\n";
    }
    std::string singles, interactions;
    std::vector<std::string> single(static_cast<size_t>(groups));
    for (int i = 0; i < groups; ++i)
        single[size_t(i)] = "zx" + std::to_string(i) + " - zb" + std::to_string(i);
    for (size_t k = 0; k < pairs.size(); ++k) {
        const std::string a = std::to_string(pairs[k].first), b = std::to_string(pairs[k].second);
        const std::string s = std::to_string(k), e = builder::item("pairs", k);
        // Pair k's residual with group a taken from source ua (x or b) and group b from ub.
        auto residual = [&](const std::string &ua, const std::string &ub) {
            const std::string base = "(z" + ua + a + " + z" + ub + b + ") * 0.5";
            return e + ".forward(torch.cat([p" + ua + "[:, " + a + "], p" + ub + "[:, " + b +
                   "]], 1), h" + ua + a + ", h" + ub + b + ", " + base + ")[0] - " + base;
        };
        src << "    rxx" << s << " = " << residual("x", "x") << "\n"
            << "    rxb" << s << " = " << residual("x", "b") << "\n"
            << "    rbx" << s << " = " << residual("b", "x") << "\n"
            << "    rbb" << s << " = " << residual("b", "b") << "\n"
            << "    m" << s << " = rxx" << s << " - rxb" << s << " - rbx" << s << " + rbb" << s
            << "\n";
        interactions += "m" + s + ", ";
        single[size_t(pairs[k].first)] += " + rxb" + s + " - rbb" + s;
        single[size_t(pairs[k].second)] += " + rbx" + s + " - rbb" + s;
    }
    for (const auto &term : single)
        singles += term + ", ";
    src << "    return torch.stack([" << singles << "], 1), torch.stack([" << interactions
        << "], 1)\n";
    // Shapley values of a 2-additive game: own effect plus half of every pair it is in.
    src << "def exact_interactions(self, x, b):\n"
        << "    singles, pairs = self.moebius(x, b)\n"
        << "    return pairs\n"
        << "def exact_shapley(self, x, b):\n"
        << "    singles, pairs = self.moebius(x, b)\n"
        << "    shares = [singles[:, i] for i in range(" << groups << ")]\n";
    for (size_t k = 0; k < pairs.size(); ++k)
        src << "    shares[" << pairs[k].first << "] = shares[" << pairs[k].first
            << "] + 0.5 * pairs[:, " << k << "]\n"
            << "    shares[" << pairs[k].second << "] = shares[" << pairs[k].second
            << "] + 0.5 * pairs[:, " << k << "]\n";
    src << "    return torch.stack(shares, 1)\n";
    return src.str();
}

std::string expertsSource(const GroupsConfig &c)
{
    const int g = c.grid, p = c.patch(), ch = c.inputChannels;
    std::ostringstream src;
    src << "def experts(self, x):\n"
        << "    n = x.size(0)\n"
        << "    p = x.reshape([n, " << ch << ", " << g << ", " << p << ", " << g << ", " << p
        << "]).permute([0, 2, 4, 1, 3, 5]).reshape([n, " << g * g << ", " << ch * p * p << "])\n";
    std::string logits, scores;
    for (int i = 0; i < c.numGroups(); ++i) {
        const std::string s = std::to_string(i);
        src << "    h" << s << ", z" << s << ", s" << s << " = "
            << builder::item("groups", size_t(i)) << ".forward(p[:, " << s << "])\n";
        logits += "z" + s + ", ";
        scores += "s" + s + ", ";
    }
    const auto pairs = c.pairs();
    for (size_t k = 0; k < pairs.size(); ++k) {
        const std::string a = std::to_string(pairs[k].first), b = std::to_string(pairs[k].second);
        const std::string s = std::to_string(k);
        src << "    y" << s << ", t" << s << " = " << builder::item("pairs", k)
            << ".forward(torch.cat([p[:, " << a << "], p[:, " << b << "]], 1), h" << a
            << ".detach(), h" << b << ".detach(), ((z" << a << " + z" << b
            << ") * 0.5).detach())\n";
        logits += "y" + s + ", ";
        scores += "t" + s + ", ";
    }
    src << "    return torch.stack([" << logits << "], 1), torch.cat([" << scores << "], 1)\n";
    return src.str();
}

} // namespace

torch::jit::Module buildDemoGroups(const GroupsConfig &c)
{
    if (c.grid < 2 || c.inputSize % c.grid != 0)
        throw std::invalid_argument("the group grid must be >= 2 and divide the input size");
    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    Module net = makeModule(cu, "HeatlensFeatureGroups");
    std::vector<Module> groups, pairs;
    for (int i = 0; i < c.numGroups(); ++i)
        groups.push_back(groupExpert(cu, c));
    for (size_t k = 0; k < c.pairs().size(); ++k)
        pairs.push_back(pairExpert(cu, c));
    net.register_module("groups", moduleList(cu, groups));
    net.register_module("pairs", moduleList(cu, pairs));
    net.define(expertsSource(c));
    if (c.additive) {
        net.define(additiveSource(c));
        net.define(R"(
def expert_logits(self, x):
    logits, scores = self.experts(x)
    return logits

def forward(self, x):
    groups, residuals = self.terms(x)
    return groups.sum(1) + residuals.sum(1)
)");
        return net;
    }
    net.define(R"(
def expert_logits(self, x):
    logits, scores = self.experts(x)
    return logits

def group_attributions(self, x):
    logits, scores = self.experts(x)
    return torch.softmax(scores, 1)

def forward(self, x):
    logits, scores = self.experts(x)
    w = torch.softmax(scores, 1)
    return (w.unsqueeze(2) * logits).sum(1)
)");
    return net;
}

} // namespace heatlens
