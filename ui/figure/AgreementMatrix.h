#pragma once

// The pairwise agreement matrix of a comparison, drawn with QPainter: the Compare tab paints it
// on screen and the command line saves the same drawing to PNG or PDF.

#include <QImage>
#include <QPainter>
#include <QRectF>
#include <QString>
#include <QStringList>

#include <optional>
#include <utility>
#include <vector>

namespace heatlens::ui {

struct AgreementMatrix
{
    QStringList labels;         // one per row and column: "Demo: CNN / Saliency"
    std::vector<double> values; // labels.size()^2, row-major, symmetric; NaN: undefined
    QString title;              // drawn above, may be empty
    QString metric;             // "Spearman": the colour bar's caption; colours span -1 .. 1
    std::pair<int, int> highlighted = {-1, -1}; // an entry drawn with a frame (both halves)
    QStringList annotations; // values.size() texts drawn under the value (e.g. "+-0.03"), or empty

    double at(int row, int column) const { return values[size_t(row * labels.size() + column)]; }
};

// Draws the matrix into `area`: labels on the left and on top (rotated), one coloured square
// per entry with its value (2 decimals, "-" when undefined, the diagonal greyed; squares under
// 22 px get no numbers), a colour bar.
void drawAgreementMatrix(QPainter &painter, const QRectF &area, const AgreementMatrix &matrix);

// The entry (row, column) under `pos` when the matrix is drawn into `area`, if any.
std::optional<std::pair<int, int>>
agreementMatrixEntryAt(const QRectF &area, const AgreementMatrix &matrix, const QPointF &pos);

// A size at which every label and value is readable.
QSize agreementMatrixSize(const AgreementMatrix &matrix);

// Saves the drawing (white background) at agreementMatrixSize to `path`: PDF when it ends in
// .pdf, PNG when in .png. Throws std::invalid_argument for another extension and
// std::runtime_error naming the path when it cannot be written. Needs a QGuiApplication.
void saveAgreementMatrix(const AgreementMatrix &matrix, const QString &path);

} // namespace heatlens::ui
