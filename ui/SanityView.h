#pragma once

#include "core/metrics/Sanity.h"

#include <QWidget>

#include <list>
#include <map>
#include <optional>
#include <string>

class QCPItemStraightLine;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QPushButton;

namespace heatlens::ui {

class Session;

// The Sanity tab: the model parameter randomisation test (core sanityCheck) for the current
// method, image and target. A strip of maps as layers are randomised (original first), the
// similarity of each to the original (Spearman of the maps and of |maps|, SSIM, HOG) plotted
// against the randomisation step, and the verdict. Runs on the JobRunner (slot "sanity") while
// the tab is visible, streams step by step, and caches results.
class SanityView : public QWidget
{
    Q_OBJECT

public:
    explicit SanityView(Session *session, QWidget *parent = nullptr);

    QComboBox *modeBox() const { return m_mode; }
    QDoubleSpinBox *thresholdBox() const { return m_threshold; }
    QCustomPlot *plot() const { return m_plot; }
    QLabel *verdictLabel() const { return m_verdict; }
    // The result shown (possibly partial while computing).
    const std::optional<SanityResult> &result() const { return m_result; }
    bool isComplete() const { return m_complete; }
    int thumbnailCount() const { return m_thumbnails; }

Q_SIGNALS:
    void sanityReady(); // the check for the current view is complete
    void errorOccurred(const QString &message);

protected:
    void showEvent(QShowEvent *event) override;

private:
    QWidget *buildControls();
    std::string key() const;
    void refresh();
    void display(const SanityResult &result, bool complete);
    void clearStrip();
    void addThumbnail(const cv::Mat &map, const QString &caption, double scale);

    Session *m_session;
    QComboBox *m_mode;
    QDoubleSpinBox *m_threshold;
    QPushButton *m_run;
    QLabel *m_status;
    QLabel *m_verdict;
    QCustomPlot *m_plot;
    QCPItemStraightLine *m_thresholdLine;
    QWidget *m_strip;
    QGridLayout *m_stripLayout;
    std::optional<SanityResult> m_result;
    bool m_complete = false;
    int m_thumbnails = 0;
    std::string m_pendingKey;
    std::map<std::string, SanityResult> m_cache;
    std::list<std::string> m_cacheOrder;
};

} // namespace heatlens::ui
