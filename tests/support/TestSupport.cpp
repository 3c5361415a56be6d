#include "TestSupport.h"

#include "core/model/DemoCnn.h"
#include "core/model/Zoo.h"

#include <QFile>
#include <QJsonDocument>
#include <QProcess>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>
#include <vector>

namespace heatlens::test {

namespace {

const char *kSystemPython = "/usr/bin/python3";

std::vector<std::string> &tempDirs()
{
    static std::vector<std::string> dirs;
    static bool registered = false;
    if (!registered) {
        registered = true;
        std::atexit([] {
            if (std::getenv("HEATLENS_KEEP_TEST_DIRS")) // for a look after the run
                return;
            std::error_code ec;
            for (const auto &d : tempDirs())
                std::filesystem::remove_all(d, ec);
        });
    }
    return dirs;
}

} // namespace

std::string makeTempDir(const std::string &prefix)
{
    static int counter = 0;
    auto base = std::filesystem::path(HEATLENS_BINARY_DIR) / "test-tmp";
    auto dir = base / (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    tempDirs().push_back(dir.string());
    return dir.string();
}

std::string fixturesDir()
{
    return HEATLENS_FIXTURES_DIR;
}

bool haveFixture(const std::string &name)
{
    return std::filesystem::exists(std::filesystem::path(fixturesDir()) / name);
}

std::string fixture(const std::string &name)
{
    return fixturesDir() + "/" + name;
}

void writeBytes(const std::string &path, const std::string &bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out)
        throw std::runtime_error("cannot write " + path);
}

std::string readAll(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::vector<std::string> entries(const std::string &dir)
{
    std::vector<std::string> names;
    for (const auto &e : std::filesystem::directory_iterator(dir))
        names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

std::string fashionMnistDir()
{
    return "/usr/share/datasets/fashion-mnist";
}

int runPython(const std::string &script, const QStringList &args, QString *output, int timeoutMs)
{
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(kSystemPython, QStringList{"-c", QString::fromStdString(script)} + args);
    if (!process.waitForFinished(timeoutMs))
        return -1;
    if (output)
        *output = QString::fromLocal8Bit(process.readAll());
    return process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
}

bool pythonCanImport(const std::string &module)
{
    return std::filesystem::exists(kSystemPython) &&
           runPython("import " + module, {}, nullptr) == 0;
}

std::string errorOf(const std::function<void()> &f)
{
    try {
        f();
    } catch (const std::exception &e) {
        return e.what();
    }
    return "(no exception)";
}

bool contains(const std::string &text, const std::string &part)
{
    return text.find(part) != std::string::npos;
}

bool bitwiseEqual(const cv::Mat &a, const cv::Mat &b)
{
    if (a.size() != b.size() || a.type() != b.type())
        return false;
    for (int r = 0; r < a.rows; ++r)
        if (std::memcmp(a.ptr(r), b.ptr(r), a.cols * a.elemSize()) != 0)
            return false;
    return true;
}

bool allClose(const torch::Tensor &a, const torch::Tensor &b, double tolerance)
{
    return a.sizes() == b.sizes() && torch::allclose(a, b, tolerance, tolerance);
}

std::string maxDifference(const torch::Tensor &a, const torch::Tensor &b)
{
    if (a.sizes() != b.sizes())
        return "shapes " + c10::str(a.sizes()) + " and " + c10::str(b.sizes());
    return "max |difference| " + std::to_string((a - b).abs().max().item<double>());
}

torch::jit::Module seededDemoCnn(uint64_t seed)
{
    torch::manual_seed(seed);
    auto module = buildDemoCnn(CnnConfig{});
    module.eval();
    return module;
}

ModuleSnapshot::ModuleSnapshot(const torch::jit::Module &module)
    : graph(module.get_method("forward").graph()->toString())
    , training(module.is_training())
{
    for (const auto &p : module.named_parameters()) {
        names.push_back(p.name);
        values.push_back(p.value.detach().clone());
        requiresGrad.push_back(p.value.requires_grad());
    }
    parameterCount = names.size();
    for (const auto &b : module.named_buffers()) {
        names.push_back(b.name);
        values.push_back(b.value.detach().clone());
        requiresGrad.push_back(b.value.requires_grad());
    }
    for (const auto &sub : module.named_modules())
        trainingFlags.push_back(sub.value.is_training());
}

std::string ModuleSnapshot::parameterChanges(const torch::jit::Module &module) const
{
    if (module.get_method("forward").graph()->toString() != graph)
        return "forward's graph changed";
    if (module.is_training() != training)
        return "training flag changed";
    size_t i = 0;
    for (const auto &p : module.named_parameters()) {
        if (i >= parameterCount || p.name != names[i] || !torch::equal(p.value, values[i]) ||
            p.value.requires_grad() != requiresGrad[i])
            return "parameter " + p.name + " changed";
        ++i;
    }
    return i == parameterCount ? std::string() : "parameters were removed";
}

std::string ModuleSnapshot::differences(const torch::jit::Module &module) const
{
    const ModuleSnapshot now(module);
    if (now.graph != graph)
        return "forward's graph changed";
    if (now.training != training || now.trainingFlags != trainingFlags)
        return "a training flag changed";
    if (now.names != names)
        return "parameter or buffer names changed";
    for (size_t i = 0; i < names.size(); ++i) {
        if (!torch::equal(now.values[i], values[i]))
            return names[i] + " changed value";
        if (now.requiresGrad[i] != requiresGrad[i])
            return names[i] + " changed requires_grad";
    }
    for (const auto &p : module.parameters())
        if (p.grad().defined())
            return "a parameter received a gradient";
    return {};
}

ProgramRun runProgram(const QString &program, const QStringList &args,
                      const QProcessEnvironment &env)
{
    QProcess process;
    if (!env.isEmpty())
        process.setProcessEnvironment(env);
    process.start(program, args);
    const bool finished = process.waitForFinished(300000);
    return {finished && process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1,
            QString::fromUtf8(process.readAllStandardOutput()),
            QString::fromUtf8(process.readAllStandardError())};
}

QJsonObject readJsonObject(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(file.readAll()).object();
}

std::string missingDemoData()
{
    const auto model = demoModelPath("demo-cnn");
    if (!std::filesystem::exists(model))
        return "demo model missing: run heatlens-cli zoo (" + model + ")";
    if (!std::filesystem::exists(demoDatasetPath()))
        return "Fashion-MNIST missing: install dataset-fashion-mnist";
    return {};
}

} // namespace heatlens::test
