#include "core/groups/CoalitionGame.h"

#include "core/model/InputImage.h"
#include "core/model/Preprocess.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <stdexcept>

namespace heatlens {

PlayerSet::PlayerSet(int players)
    : m_players(players)
    , m_words(size_t((players + 63) / 64), 0)
{}

PlayerSet PlayerSet::all(int players)
{
    PlayerSet s(players);
    for (int i = 0; i < players; ++i)
        s.add(i);
    return s;
}

PlayerSet PlayerSet::fromBits(int players, Coalition bits)
{
    PlayerSet s(players);
    if (players > 0)
        s.m_words[0] = players >= 64 ? bits : bits & ((Coalition(1) << players) - 1);
    return s;
}

PlayerSet &PlayerSet::add(int i)
{
    m_words[size_t(i) / 64] |= uint64_t(1) << (i % 64);
    return *this;
}

PlayerSet &PlayerSet::remove(int i)
{
    m_words[size_t(i) / 64] &= ~(uint64_t(1) << (i % 64));
    return *this;
}

int PlayerSet::size() const
{
    int n = 0;
    for (uint64_t w : m_words)
        n += __builtin_popcountll(w);
    return n;
}

namespace {

// An 8-bit RGB image back to the model's input space (the inverse of inputToRgb8).
torch::Tensor rgb8ToInput(const cv::Mat &rgb, const ModelCard &card)
{
    cv::Mat unit;
    rgb.convertTo(unit, CV_32F, 1.0 / 255.0);
    if (card.colorOrder == "bgr")
        cv::cvtColor(unit, unit, cv::COLOR_RGB2BGR);
    auto t = torch::from_blob(unit.data, {unit.rows, unit.cols, 3}, torch::kFloat32)
                 .permute({2, 0, 1})
                 .clone()
                 .unsqueeze(0);
    if (card.inputChannels == 1)
        t = t.narrow(1, 0, 1).contiguous();
    if (!card.mean.empty()) {
        const auto mean = torch::tensor(card.mean).view({1, -1, 1, 1});
        const auto std = torch::tensor(card.std).view({1, -1, 1, 1});
        t = (t - mean) / std;
    }
    return t;
}

const std::vector<std::string> kFills = {"black",   "mean",       "blur",
                                         "inpaint", "group-mean", "baseline"};

} // namespace

CoalitionGame::CoalitionGame(ModelPtr model, const torch::Tensor &input, Grouping grouping,
                             MaskerOptions masker, int batch)
    : m_model(std::move(model))
    , m_input(input)
    , m_grouping(std::move(grouping))
    , m_masker(std::move(masker))
    , m_batch(std::max(1, batch))
{
    if (!m_input.defined() || m_input.dim() != 4 || m_input.size(0) != 1)
        throw std::invalid_argument("coalition game: expected one input [1, C, H, W]");
    if (m_grouping.labels.rows != m_input.size(2) || m_grouping.labels.cols != m_input.size(3))
        throw std::invalid_argument(
            "coalition game: the grouping's labels are " + std::to_string(m_grouping.labels.cols) +
            " x " + std::to_string(m_grouping.labels.rows) + ", the input " +
            std::to_string(m_input.size(3)) + " x " + std::to_string(m_input.size(2)));
    if (std::find(kFills.begin(), kFills.end(), m_masker.fill) == kFills.end())
        throw std::invalid_argument("coalition game: unknown fill \"" + m_masker.fill +
                                    "\" (black, mean, blur, inpaint, group-mean, baseline)");
    cv::Mat labels =
        m_grouping.labels.isContinuous() ? m_grouping.labels : m_grouping.labels.clone();
    m_labels =
        torch::from_blob(labels.data, {int64_t(labels.total())}, torch::kInt32).to(torch::kInt64);
    const auto &card = m_model->card();
    const std::string &fill = m_masker.fill;
    if (fill == "baseline") {
        if (!m_masker.canvas.defined() || !m_masker.canvas.sizes().equals(m_input.sizes()))
            throw std::invalid_argument(
                "coalition game: the baseline fill needs a canvas of the input's shape");
        m_canvas = m_masker.canvas.to(m_input.scalar_type()).contiguous();
    } else if (fill == "black") {
        m_canvas = blackInput(card).expand_as(m_input).contiguous();
    } else if (fill == "mean") {
        const auto from = m_masker.references.defined() ? m_masker.references : m_input;
        m_canvas = from.mean({0, 2, 3}, true).expand_as(m_input).contiguous();
    } else if (fill == "blur") {
        const double sigma = std::max(1.0, std::min(m_input.size(2), m_input.size(3)) / 20.0);
        m_canvas = torch::empty_like(m_input);
        for (int64_t c = 0; c < m_input.size(1); ++c) {
            auto plane = m_input[0][c].contiguous();
            cv::Mat in(int(plane.size(0)), int(plane.size(1)), CV_32F, plane.data_ptr<float>());
            cv::Mat out;
            cv::GaussianBlur(in, out, cv::Size(0, 0), sigma);
            m_canvas[0][c].copy_(torch::from_blob(out.data, {out.rows, out.cols}, torch::kFloat32));
        }
    } else if (fill == "group-mean") {
        const int64_t c = m_input.size(1), p = m_grouping.count;
        const auto flat = m_input.view({c, -1});
        auto sums = torch::zeros({c, p}).index_add_(1, m_labels, flat);
        auto counts = torch::zeros({p}).index_add_(0, m_labels, torch::ones({flat.size(1)}));
        const auto means = sums / counts.clamp_min(1.0);
        m_canvas = means.index_select(1, m_labels).view_as(m_input).contiguous();
    }
}

torch::Tensor CoalitionGame::fillFor(const PlayerSet &present) const
{
    if (m_masker.fill != "inpaint")
        return m_canvas;
    const auto &card = m_model->card();
    const cv::Mat rgb = inputToRgb8(m_input, card);
    cv::Mat absent(rgb.size(), CV_8UC1);
    for (int y = 0; y < absent.rows; ++y)
        for (int x = 0; x < absent.cols; ++x)
            absent.at<uchar>(y, x) = present.has(m_grouping.labels.at<int>(y, x)) ? 0 : 255;
    cv::Mat filled;
    cv::inpaint(rgb, absent, filled, 3.0, cv::INPAINT_TELEA);
    return rgb8ToInput(filled, card);
}

torch::Tensor CoalitionGame::maskedInput(const PlayerSet &present) const
{
    auto presence = torch::zeros({int64_t(players())});
    for (int i = 0; i < players(); ++i)
        presence[i] = present.has(i) ? 1.0 : 0.0;
    const auto mask =
        presence.index_select(0, m_labels).view({1, 1, m_input.size(2), m_input.size(3)});
    return m_input * mask + fillFor(present) * (1.0 - mask);
}

torch::Tensor CoalitionGame::maskedBatch(const std::vector<PlayerSet> &sets, size_t begin,
                                         size_t end) const
{
    if (m_masker.fill == "inpaint") {
        std::vector<torch::Tensor> inputs;
        for (size_t i = begin; i < end; ++i)
            inputs.push_back(maskedInput(sets[i]));
        return torch::cat(inputs);
    }
    const int64_t n = int64_t(end - begin), p = players();
    auto presence = torch::zeros({n, p});
    float *bits = presence.data_ptr<float>();
    for (int64_t r = 0; r < n; ++r)
        for (int64_t i = 0; i < p; ++i)
            bits[r * p + i] = sets[begin + size_t(r)].has(int(i)) ? 1.0f : 0.0f;
    const auto mask =
        presence.index_select(1, m_labels).view({n, 1, m_input.size(2), m_input.size(3)});
    // canvas + (input - canvas) * mask in one pass: exact for masks of 0 and 1.
    return torch::addcmul(m_canvas, m_input - m_canvas, mask);
}

void CoalitionGame::evaluate(const std::vector<PlayerSet> &coalitions, const JobContext &ctx)
{
    // Each coalition once, in the order first asked: sorting indices finds the repeats
    // without copying any coalition.
    std::vector<size_t> order(coalitions.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return coalitions[a] < coalitions[b]; });
    std::vector<char> repeat(coalitions.size(), 0);
    for (size_t k = 1; k < order.size(); ++k)
        repeat[order[k]] = coalitions[order[k]] == coalitions[order[k - 1]];
    std::vector<PlayerSet> todo;
    for (size_t i = 0; i < coalitions.size(); ++i)
        if (!repeat[i] && !isCached(coalitions[i]))
            todo.push_back(coalitions[i]);
    for (size_t begin = 0; begin < todo.size(); begin += size_t(m_batch)) {
        ctx.throwIfCancelled();
        const size_t end = std::min(todo.size(), begin + size_t(m_batch));
        const auto start = std::chrono::steady_clock::now();
        const auto logits =
            m_model->predict(maskedBatch(todo, begin, end)).to(torch::kFloat32).contiguous();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        m_seconds += seconds;
        m_calls += int(end - begin);
        if (m_calls > int(end - begin) && int(end - begin) >= std::min(m_batch, 32)) {
            m_lastBatchSeconds = seconds;
            m_lastBatchCalls = int(end - begin);
        }
        for (size_t i = begin; i < end; ++i) {
            const float *row = logits[int64_t(i - begin)].data_ptr<float>();
            m_logits[todo[i]].assign(row, row + logits.size(1));
        }
        ctx.report(double(end) / double(todo.size()),
                   std::to_string(end) + " of " + std::to_string(todo.size()) + " coalitions");
    }
}

const std::vector<float> &CoalitionGame::logits(const PlayerSet &s) const
{
    auto it = m_logits.find(s);
    if (it == m_logits.end())
        throw std::logic_error("coalition game: a coalition was not evaluated");
    return it->second;
}

double CoalitionGame::value(const PlayerSet &s, int target) const
{
    return double(logits(s).at(size_t(target)));
}

double CoalitionGame::secondsPerCall() const
{
    // The latest full batch when there is one: the first batches pay for TorchScript's
    // profiling runs and would make every ETA several times too long.
    if (m_lastBatchCalls > 0)
        return m_lastBatchSeconds / m_lastBatchCalls;
    return m_calls > 0 ? m_seconds / m_calls : 0.0;
}

FunctionGame::FunctionGame(int players, std::function<double(const PlayerSet &)> value,
                           std::vector<std::pair<int, int>> adjacent)
    : m_players(players)
    , m_value(std::move(value))
    , m_adjacent(std::move(adjacent))
{}

void FunctionGame::evaluate(const std::vector<PlayerSet> &coalitions, const JobContext &ctx)
{
    ctx.throwIfCancelled();
    for (const auto &s : coalitions)
        if (!m_values.count(s))
            m_values[s] = m_value(s);
}

double FunctionGame::value(const PlayerSet &s, int) const
{
    auto it = m_values.find(s);
    if (it == m_values.end())
        throw std::logic_error("function game: a coalition was not evaluated");
    return it->second;
}

GameTable Game::exactGame(int target, const JobContext &ctx)
{
    const int p = players();
    if (p > 20)
        throw std::invalid_argument(
            "exact mode evaluates all 2^p coalitions: " + std::to_string(p) +
            " groups would take " + std::to_string(1ULL << std::min(p, 62)) +
            " model calls; use at most 20 groups or an estimator");
    std::vector<PlayerSet> all;
    all.reserve(size_t(1) << p);
    for (Coalition s = 0; s < (Coalition(1) << p); ++s)
        all.push_back(PlayerSet::fromBits(p, s));
    evaluate(all, ctx);
    return tabulateGame(p, [&](Coalition s) { return value(PlayerSet::fromBits(p, s), target); });
}

} // namespace heatlens
