#pragma once

#include "core/groups/GameIndices.h"
#include "core/groups/Grouping.h"
#include "core/jobs/Progress.h"
#include "core/model/Model.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace heatlens {

// A set of players (groups) of any size, as bits.
class PlayerSet
{
public:
    PlayerSet() = default;
    explicit PlayerSet(int players);
    static PlayerSet all(int players);
    static PlayerSet fromBits(int players, Coalition bits); // players <= 64

    int players() const { return m_players; }
    bool has(int i) const { return (m_words[size_t(i) / 64] >> (i % 64)) & 1; }
    PlayerSet &add(int i);
    PlayerSet &remove(int i);
    int size() const;
    bool operator<(const PlayerSet &o) const { return m_words < o.m_words; }
    bool operator==(const PlayerSet &o) const { return m_words == o.m_words; }

private:
    int m_players = 0;
    std::vector<uint64_t> m_words;
};

// What estimators need of a game: its players and their neighbours, coalitions evaluated in
// batches (and cached), and the value of an evaluated coalition for a class.
class Game
{
public:
    virtual ~Game() = default;
    virtual int players() const = 0;
    virtual const std::vector<std::pair<int, int>> &adjacent() const = 0;
    virtual void evaluate(const std::vector<PlayerSet> &coalitions, const JobContext &ctx) = 0;
    virtual double value(const PlayerSet &s, int target) const = 0;
    virtual int calls() const = 0; // evaluations so far
    // Every coalition (p <= 20).
    GameTable exactGame(int target, const JobContext &ctx = {});
};

// A game given by a function of the coalition (synthetic games with known answers); the target
// is ignored; every coalition asked for counts as one call, cached.
class FunctionGame : public Game
{
public:
    FunctionGame(int players, std::function<double(const PlayerSet &)> value,
                 std::vector<std::pair<int, int>> adjacent = {});
    int players() const override { return m_players; }
    const std::vector<std::pair<int, int>> &adjacent() const override { return m_adjacent; }
    void evaluate(const std::vector<PlayerSet> &coalitions, const JobContext &ctx) override;
    double value(const PlayerSet &s, int target) const override;
    int calls() const override { return int(m_values.size()); }

private:
    int m_players;
    std::function<double(const PlayerSet &)> m_value;
    std::vector<std::pair<int, int>> m_adjacent;
    std::map<PlayerSet, double> m_values;
};

// What absent groups become in a masked input:
//   black       the card's black image (zero pixels, normalised)
//   mean        the per-channel mean of the references (a dataset), else of the image itself
//   blur        the image blurred (Gaussian, sigma a twentieth of its shorter side)
//   inpaint     OpenCV's Telea inpainting of the absent pixels from the present ones
//   group-mean  each group's own mean colour (LIME's default)
//   baseline    a given image (`canvas`): the baseline parameter of the perturbation methods
struct MaskerOptions
{
    std::string fill = "black";
    torch::Tensor references; // [R, C, H, W] preprocessed images, for "mean"; may be undefined
    torch::Tensor canvas;     // [1, C, H, W] like the input, for "baseline"

    std::string canonical() const { return fill; }
};

// The coalition engine: the game v(S) = the model's logits on the input with the groups outside
// S masked. Coalitions run as batched inference-mode forward passes and the logits of every
// class are cached per coalition, so another class or another index costs no further call.
// Cancelling keeps every batch evaluated.
class CoalitionGame : public Game
{
public:
    // `grouping` is in the frame of the model input (its labels are H x W of `input`).
    CoalitionGame(ModelPtr model, const torch::Tensor &input, Grouping grouping,
                  MaskerOptions masker, int batch = 64);

    int players() const override { return m_grouping.count; }
    const std::vector<std::pair<int, int>> &adjacent() const override
    {
        return m_grouping.adjacent;
    }
    const Grouping &grouping() const { return m_grouping; }
    const ModelPtr &model() const { return m_model; }
    const torch::Tensor &input() const { return m_input; } // [1, C, H, W]
    int batch() const { return m_batch; }

    // What absent pixels become, [1, C, H, W] (undefined for inpainting, which depends on the
    // coalition): the baseline of the by-design models' exact answers.
    torch::Tensor baseline() const
    {
        return m_masker.fill == "inpaint" ? torch::Tensor() : m_canvas;
    }
    // The model input with the groups outside `present` masked, [1, C, H, W].
    torch::Tensor maskedInput(const PlayerSet &present) const;
    // Evaluates the coalitions not cached yet (each once, however often it is asked for), in
    // batches; reports progress after each batch; throws Cancelled (what was evaluated stays
    // cached).
    void evaluate(const std::vector<PlayerSet> &coalitions, const JobContext &ctx = {}) override;
    bool isCached(const PlayerSet &s) const { return m_logits.count(s) != 0; }
    // The cached logits of a coalition (every class); throws std::logic_error when not evaluated.
    const std::vector<float> &logits(const PlayerSet &s) const;
    double value(const PlayerSet &s, int target) const override;

    int calls() const override { return m_calls; } // images passed through the model so far
    // Seconds per call (0 before any batch): the ETA of a plan. Measured on the latest batch of
    // at least 32 calls after the first batch when there is one, else over every batch so far.
    double secondsPerCall() const;

private:
    torch::Tensor fillFor(const PlayerSet &present) const; // [1, C, H, W]
    torch::Tensor maskedBatch(const std::vector<PlayerSet> &sets, size_t begin, size_t end) const;

    ModelPtr m_model;
    torch::Tensor m_input;
    Grouping m_grouping;
    MaskerOptions m_masker;
    int m_batch;
    torch::Tensor m_labels; // [H * W] int64
    torch::Tensor m_canvas; // [1, C, H, W] the fill for every masker but inpaint
    std::map<PlayerSet, std::vector<float>> m_logits;
    int m_calls = 0;
    double m_seconds = 0.0;
    int m_lastBatchCalls = 0;
    double m_lastBatchSeconds = 0.0;
};

} // namespace heatlens
