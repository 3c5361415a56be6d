#pragma once

#include "core/metrics/Evaluation.h"

#include <map>
#include <string>
#include <vector>

namespace heatlens {

// The files of a resumable dataset run in a folder (uncertainty, interactions), like evaluate's:
//   run.json        what was run; a resumed run must match it (RunFolder)
//   per_image.csv   one row per image and combination (a method x source, a method x budget),
//                   an image's rows appended together; cut rows and incomplete images are dropped
//                   when the run is opened again
//   summary.json    per combination: mean, 95% interval and n of every summarised column
// The first column is the dataset index; `keyColumns` name the combination of a row.
class DatasetRun
{
public:
    // Throws std::runtime_error naming run.json when `dir` holds another run (unless
    // `startOver`), or per_image.csv when its columns are not `header`.
    DatasetRun(const std::string &dir, const std::string &runJson, std::vector<std::string> header,
               std::vector<size_t> keyColumns, std::vector<std::string> combinations,
               bool startOver);

    std::vector<size_t> pending(const std::vector<size_t> &indices) const;
    size_t done() const { return m_rows.size(); }
    void append(size_t index, const std::vector<std::vector<std::string>> &rows);
    // The combination of a row: its key columns joined by '|'.
    std::string keyOf(const std::vector<std::string> &row) const;

    // combination -> column -> summary over the rows of `indices`, for the named columns; writes
    // summary.json with them, the images counted, the seconds, the skipped images and `extra`
    // (a JSON object's text, merged in; may be empty).
    std::map<std::string, std::map<std::string, Summary>>
    summarise(const std::vector<size_t> &indices, const std::vector<std::string> &columns,
              double seconds, const std::vector<std::string> &skipped,
              const std::string &extra = {}) const;
    // The rows of one combination over `indices`, by column name (for figures and tables).
    std::vector<std::map<std::string, std::string>>
    rowsOf(const std::string &combination, const std::vector<size_t> &indices) const;

    std::string perImagePath() const;
    std::string summaryPath() const;

private:
    std::string m_dir;
    std::vector<std::string> m_header;
    std::vector<size_t> m_keyColumns;
    std::vector<std::string> m_combinations;
    std::map<size_t, std::map<std::string, std::vector<std::string>>> m_rows;
};

// The finished shard folders of one run (`shards`, in shard order, each holding per_image.csv
// and summary.json) written into `dir` as one run: run.json is `runJson` (a whole run's),
// per_image.csv every shard's rows in order under `header`. Returns what summarise() needs
// besides: the images in order, the shards' summed seconds and their skipped images. A
// DatasetRun opened on `dir` with `runJson` then holds the merged rows.
struct MergedShards
{
    std::vector<size_t> indices;
    double seconds = 0.0;
    std::vector<std::string> skipped;
};
MergedShards writeMergedShards(const std::vector<std::string> &shards, const std::string &dir,
                               const std::string &runJson, const std::vector<std::string> &header);

} // namespace heatlens
