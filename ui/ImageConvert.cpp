#include "ui/ImageConvert.h"

#include "core/render/ColorMap.h"

namespace heatlens::ui {

QImage toQImage(const cv::Mat &rgb8)
{
    if (rgb8.empty())
        return {};
    cv::Mat contiguous = rgb8.isContinuous() ? rgb8 : rgb8.clone();
    QImage view(contiguous.data, contiguous.cols, contiguous.rows, int(contiguous.step),
                QImage::Format_RGB888);
    return view.copy();
}

QImage sampleToQImage(const cv::Mat &image)
{
    return toQImage(toRgb8(image));
}

} // namespace heatlens::ui
