#pragma once

#include <QJsonObject>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include <opencv2/core.hpp>

#include <torch/script.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace heatlens::test {

// A fresh empty directory under the build tree's tmp area, removed at process exit (kept when
// the environment sets HEATLENS_KEEP_TEST_DIRS, to look at what a test wrote).
std::string makeTempDir(const std::string &prefix);

// Directory with models exported by Debian's python3-torch (see fixtures/make_fixtures.py).
std::string fixturesDir();

// True when the python fixtures were generated (python3-torch present at test time).
bool haveFixture(const std::string &name);

// The path of fixture `name` in fixturesDir(), whether or not it exists (see haveFixture).
std::string fixture(const std::string &name);

// Writes `bytes` to `path` (binary), throwing on failure.
void writeBytes(const std::string &path, const std::string &bytes);

// The whole content of the file at `path` (binary); empty when it cannot be read.
std::string readAll(const std::string &path);

// The names (not paths) of the entries directly inside `dir`, sorted.
std::vector<std::string> entries(const std::string &dir);

// Debian's Fashion-MNIST folder (dataset-fashion-mnist); tests skip when it does not exist.
std::string fashionMnistDir();

// Runs /usr/bin/python3 -c `script` with `args`, waiting up to `timeoutMs`; returns its exit
// code, -1 when it times out or crashes. `output`, if given, receives stdout and stderr.
int runPython(const std::string &script, const QStringList &args, QString *output,
              int timeoutMs = 120000);

// True when /usr/bin/python3 exists and can import `module` (e.g. "numpy", "torch").
bool pythonCanImport(const std::string &module);

// The message of the std::exception that `f` throws, or "(no exception)". Other exceptions
// propagate.
std::string errorOf(const std::function<void()> &f);

// True when `part` occurs in `text`.
bool contains(const std::string &text, const std::string &part);

// Why the demo CNN or Fashion-MNIST cannot be used by a test (what to run or install), or empty.
std::string missingDemoData();

// A finished command-line run: exit code (-1 if it crashed or timed out), stdout, stderr.
struct ProgramRun
{
    int exitCode = -1;
    QString out, err;
};
// Runs `program` with `args` and waits (up to 5 minutes); an empty `env` inherits ours.
ProgramRun runProgram(const QString &program, const QStringList &args,
                      const QProcessEnvironment &env = {});
// The JSON object in a file (empty if unreadable or not an object).
QJsonObject readJsonObject(const QString &path);

// True when `a` and `b` have the same size, type and bytes (NaN equals NaN, -0 differs from 0).
bool bitwiseEqual(const cv::Mat &a, const cv::Mat &b);

// True when `a` and `b` have the same shape and agree within `tolerance`, absolute and relative.
bool allClose(const torch::Tensor &a, const torch::Tensor &b, double tolerance = 1e-5);

// For failure messages: both shapes when they differ, else the largest |a - b|.
std::string maxDifference(const torch::Tensor &a, const torch::Tensor &b);

// The demo CNN (default CnnConfig) initialised right after torch::manual_seed(seed), in eval
// mode.
torch::jit::Module seededDemoCnn(uint64_t seed);

// A copy of what a module shows its callers: forward's graph, the training flags of it and its
// submodules, and its parameters and buffers (names, values, requires_grad).
struct ModuleSnapshot
{
    explicit ModuleSnapshot(const torch::jit::Module &module);

    // The first change in `module` to forward's graph, its own training flag or its parameters;
    // empty when there is none. Buffers, submodules' flags and gradients are not looked at.
    std::string parameterChanges(const torch::jit::Module &module) const;

    // The first change in `module` to anything the snapshot holds, or a gradient on one of its
    // parameters; empty when there is none.
    std::string differences(const torch::jit::Module &module) const;

    std::string graph;
    bool training;
    std::vector<bool> trainingFlags; // of the module and of every submodule
    size_t parameterCount = 0;       // names, values, requiresGrad: parameters, then buffers
    std::vector<std::string> names;
    std::vector<torch::Tensor> values;
    std::vector<bool> requiresGrad;
};

} // namespace heatlens::test
