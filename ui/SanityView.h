#pragma once

#include "core/metrics/Sanity.h"

#include <QWidget>

#include <optional>

class QCPItemStraightLine;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QPushButton;

namespace heatlens::ui {

class SanitySession;

// The Sanity tab: draws its document (SanitySession: the model parameter randomisation test of
// the current method, image and target) and forwards the options. A strip of maps as layers are
// randomised (original first), the similarity of each to the original (Spearman of the maps and
// of |maps|, SSIM, HOG) plotted against the randomisation step, and the verdict. The document
// computes while the tab is visible.
class SanityView : public QWidget
{
    Q_OBJECT

public:
    explicit SanityView(SanitySession *document, QWidget *parent = nullptr);

    SanitySession *document() const { return m_document; }
    QComboBox *modeBox() const { return m_mode; }
    QDoubleSpinBox *thresholdBox() const { return m_threshold; }
    QCustomPlot *plot() const { return m_plot; }
    QLabel *verdictLabel() const { return m_verdict; }
    // The result shown (possibly partial while computing).
    const std::optional<SanityResult> &result() const;
    bool isComplete() const;
    int thumbnailCount() const { return m_thumbnails; }

Q_SIGNALS:
    void sanityReady(); // the check for the current view is complete
    void errorOccurred(const QString &message);

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    QWidget *buildControls();
    void forwardOptions();
    void display();
    void clearStrip();
    void addThumbnail(const cv::Mat &map, const QString &caption, double scale);

    SanitySession *m_document;
    QComboBox *m_mode;
    QDoubleSpinBox *m_threshold;
    QPushButton *m_run;
    QLabel *m_status;
    QLabel *m_verdict;
    QCustomPlot *m_plot;
    QCPItemStraightLine *m_thresholdLine;
    QWidget *m_strip;
    QGridLayout *m_stripLayout;
    int m_thumbnails = 0;
};

} // namespace heatlens::ui
