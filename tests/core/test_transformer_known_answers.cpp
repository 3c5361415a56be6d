// Known answers of the transformer family (raw attention, rollout, relevance): tiny models whose
// attributions are computed by hand.
#include "core/explain/Baselines.h"
#include "core/explain/ExplainJob.h"
#include "core/explain/Integration.h"
#include "core/explain/MethodRegistry.h"
#include "core/explain/Params.h"
#include "core/model/Model.h"
#include "core/model/Preprocess.h"
#include "tests/support/KnownModels.h"
#include "tests/support/TestSupport.h"
#include <QTest>
#include <cmath>
#include <functional>
#include <opencv2/core.hpp>
#include <torch/script.h>

#include <QTest>

#include <opencv2/core.hpp>

#include <torch/script.h>

#include <cmath>
#include <functional>

using namespace heatlens;
using namespace heatlens::test;
using torch::jit::Module;

class TransformerKnownAnswersTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void attentionMethodsMatchClosedFormsOnAOneBlockTransformer()
    {
        // Tokens: CLS (0) + the 4 pixels of a 2x2 input (patch size 1). One block whose
        // attention A = softmax(L) is a parameter (formally a function of the input, so that
        // autograd reaches it); the value of token j is x_j v, and the logit
        // of class t is W[t] · (A V)[CLS]. Then dy/dA[0, j] = x_j (W[t] · v) and 0 elsewhere, so
        //   raw attention      = A[0, 1:]
        //   rollout            = ((A + I) / 2)[0, 1:] = A[0, 1:] / 2
        //   Chefer 2021b       = (I + relu(dA * A))[0, 1:] = relu(A[0, j] x_j (W[t] · v))
        auto makeModel = [](const torch::Tensor &logits, const torch::Tensor &v,
                            const torch::Tensor &w) {
            auto cu = std::make_shared<torch::jit::CompilationUnit>();
            Module attn = scriptModule(cu, "Attention");
            attn.register_parameter("logits", logits.clone(), false);
            attn.register_parameter("v", v.clone(), false);
            attn.define("def forward(self, tokens):\n"
                        "    a = torch.softmax(self.logits + 0.0 * tokens.sum(), -1)\n"
                        "    return torch.matmul(a[0], tokens * self.v)\n");
            Module net = scriptModule(cu, "OneBlock");
            net.register_module("attn", attn);
            net.register_parameter("w", w.clone(), false);
            net.define("def forward(self, x):\n"
                       "    t = torch.flatten(x, 2).transpose(1, 2)\n"
                       "    t = torch.cat([torch.zeros_like(t[:, :1]), t], 1)\n"
                       "    return torch.matmul(self.attn.forward(t)[:, 0], self.w.t())\n");
            return withCard(net, 1, 2, 2);
        };
        torch::manual_seed(16);
        const auto logits = torch::randn({1, 1, 5, 5});
        const auto v = torch::tensor({1.0f, -0.5f, 2.0f});
        const auto w = torch::randn({3, 3});
        auto model = makeModel(logits, v, w);
        QCOMPARE(model->attentionLayers(), std::vector<std::string>{"attn#softmax"});
        const auto x = torch::randn({1, 1, 2, 2});
        const auto a = torch::softmax(logits, -1)[0][0];
        const auto cls = a[0].slice(0, 1).view({2, 2});
        auto raw = explainWith("raw-attention", model, x, 0);
        QVERIFY2(test::allClose(tensorOf(raw.map), cls, 1e-6),
                 test::maxDifference(tensorOf(raw.map), cls).c_str());
        auto rollout = explainWith("attention-rollout", model, x, 0);
        QVERIFY2(test::allClose(tensorOf(rollout.map), cls / 2, 1e-6),
                 test::maxDifference(tensorOf(rollout.map), cls / 2).c_str());
        for (int target = 0; target < 3; ++target) {
            const auto expected = torch::relu(cls * x[0][0] * (w[target] * v).sum());
            auto e = explainWith("attention-relevance", model, x, target);
            QVERIFY2(test::allClose(tensorOf(e.map), expected, 1e-5),
                     test::maxDifference(tensorOf(e.map), expected).c_str());
            QCOMPARE(e.backwardPasses, 1);
        }
        // Rollout of identity attention is uniform (0: the CLS token keeps to itself), and so is
        // rollout of uniform attention (every patch gets the same share).
        for (const auto &[l, value] : {std::pair{torch::eye(5).view({1, 1, 5, 5}) * 1000, 0.0},
                                       std::pair{torch::zeros({1, 1, 5, 5}), 0.1}}) {
            auto e = explainWith("attention-rollout", makeModel(l, v, w), x, 1);
            QVERIFY2(test::allClose(tensorOf(e.map), torch::full({2, 2}, value), 1e-6),
                     test::maxDifference(tensorOf(e.map), torch::full({2, 2}, value)).c_str());
        }
        // A CNN has no attention: the methods say so.
        LinearCase c;
        const Method &rollMethod = MethodRegistry::instance().get("attention-rollout");
        QVERIFY(!rollMethod.whyNotApplicable(*c.model).empty());
        QVERIFY(test::contains(
            test::errorOf([&] { explainWith("attention-rollout", c.model, c.input, 0); }),
            "no attention layers"));
    }
};

QTEST_APPLESS_MAIN(TransformerKnownAnswersTest)
#include "test_transformer_known_answers.moc"
