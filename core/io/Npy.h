#pragma once

#include <opencv2/core/mat.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace heatlens {

// NumPy .npy (format 1.0) for single-channel float32 matrices: loadable by numpy.load.
void writeNpy(const std::string &path, const cv::Mat &map);

// A stack of float32 maps of one size as one [N, H, W] array (sample maps, percentiles).
void writeNpyStack(const std::string &path, const std::vector<cv::Mat> &maps);

// A CV_32SC1 matrix (a label map) as an int32 array.
void writeNpyInt32(const std::string &path, const cv::Mat &labels);

// An [N, H, W] float32 .npy of a shape fixed in advance, written one map at a time in place (a
// dataset run's maps: never more than one in memory). A new file is created at its full size
// (unwritten maps read as zeros); an existing file of the same shape is kept, so that a resumed
// run adds to it; one of another shape throws naming the file. Each write is flushed.
class NpyStackFile
{
public:
    NpyStackFile(const std::string &path, size_t count, int height, int width);
    void write(size_t position, const cv::Mat &map); // CV_32FC1, height x width
    const std::string &path() const { return m_path; }

private:
    std::string m_path;
    size_t m_count;
    int m_height, m_width;
    uint64_t m_dataStart = 0;
};

// Map `position` of an [N, H, W] float32 .npy (what NpyStackFile and writeNpyStack write), and
// the stack's N; throws naming the file when it is not one or the position is out of range.
cv::Mat readNpyStackMap(const std::string &path, size_t position, size_t *count = nullptr);

// Reads what writeNpy writes ('<f4', C order, 1-D or 2-D); throws naming the file otherwise.
cv::Mat readNpy(const std::string &path);

} // namespace heatlens
