#pragma once

#include <QWidget>

#include <opencv2/core/mat.hpp>

#include <memory>
#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;
class QTreeWidget;

namespace heatlens {
class CoalitionGame;
struct EstimateOptions;
struct GroupingOptions;
} // namespace heatlens

namespace heatlens::ui {

class GroupsSession;

// The image with its groups: each group tinted by a value (diverging colours, red positive,
// blue negative), the group boundaries, and the strongest interactions drawn as edges between
// group centroids (width by strength, colour by sign). Clicking a group selects it.
class GroupMapView : public QWidget
{
    Q_OBJECT

public:
    explicit GroupMapView(QWidget *parent = nullptr);

    // `image` RGB8 at the labels' size; `values` one per group (empty: no tint); `edges`
    // (i, j, value) drawn on top; `highlight` groups outlined.
    void show(const cv::Mat &image, const cv::Mat &labels, const std::vector<double> &values,
              const std::vector<std::tuple<int, int, double>> &edges,
              const std::vector<int> &highlight);
    int selectedGroup() const { return m_selected; }
    void setSelectedGroup(int group);
    QSize sizeHint() const override { return {480, 480}; }

Q_SIGNALS:
    void groupClicked(int group); // -1: outside every group (clears)

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;

private:
    QRectF imageRect() const;

    QImage m_image;
    cv::Mat m_labels;
    std::vector<QPointF> m_centroids; // in label pixels
    std::vector<std::tuple<int, int, double>> m_edges;
    std::vector<int> m_highlight;
    int m_selected = -1;
};

// The Groups tab: draws its document (GroupsSession: the image's groups, their attributions and
// interactions, the hierarchy) and forwards the options. The map shows the groups' attributions,
// or with a group selected its interaction with every other group; the strongest pairs are drawn
// on the image with a top-k slider; beside it the interaction matrix, the hierarchy as a tree
// whose nodes highlight their groups, and for feature-group models the model's own answers.
class GroupsView : public QWidget
{
    Q_OBJECT

public:
    explicit GroupsView(GroupsSession *document, QWidget *parent = nullptr);
    ~GroupsView() override;

    GroupsSession *document() const { return m_document; }
    QComboBox *groupingBox() const { return m_grouping; }
    QSpinBox *countBox() const { return m_count; }
    QComboBox *methodBox() const { return m_method; }
    QSpinBox *budgetBox() const { return m_budget; }
    // Sets every control (a saved workspace) and forwards them to the document once.
    void restore(const GroupingOptions &grouping, const EstimateOptions &estimate,
                 const std::string &masker);
    QPushButton *runButton() const { return m_run; }
    GroupMapView *mapView() const { return m_map; }
    QCustomPlot *matrixPlot() const { return m_matrix; }
    QTreeWidget *treeView() const { return m_tree; }
    QComboBox *treeModeBox() const { return m_treeMode; } // ACD merges or Archipelago top-k
    QLabel *statsLabel() const { return m_stats; }
    QSlider *topKSlider() const { return m_topK; }
    QLabel *behindLabel() const { return m_behind; }
    // Shows the masked images behind the value of pair (i, j), or of group i when j == i: the
    // image with every group, without i, without j and without both, and their target logits
    // (what the hover over the matrix and a click on the map show). False when not available.
    bool showBehind(int i, int j);

Q_SIGNALS:
    void groupsReady();
    void errorOccurred(const QString &message);

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    QWidget *buildControls();
    void forwardOptions();
    void syncControls();
    void display();
    void displayMap();
    void displayMatrix();
    void displayTree();
    void displayTopKSets(); // the tree box in Archipelago's mode
    void displayStats();

    GroupsSession *m_document;
    QComboBox *m_grouping;
    QSpinBox *m_count;
    QComboBox *m_method;
    QComboBox *m_index;
    QSpinBox *m_budget;
    QString m_exactIndex = QStringLiteral("k-sii"); // the index box's choice under exact mode
    QCheckBox *m_adjacent;
    QComboBox *m_baseline;
    QPushButton *m_run;
    QLabel *m_status;
    GroupMapView *m_map;
    QSlider *m_topK;
    QLabel *m_topKLabel;
    QCustomPlot *m_matrix;
    QComboBox *m_treeMode;
    QTreeWidget *m_tree;
    QLabel *m_stats;
    QLabel *m_behind;
    std::vector<int> m_treeHighlight;
    std::unique_ptr<CoalitionGame> m_behindGame; // masks images for showBehind (no model calls)
};

} // namespace heatlens::ui
