#pragma once

#include <QWidget>

#include <vector>

class QLabel;
class QTreeWidget;

namespace heatlens::ui {

class GroupWeightsView;
class Session;

// What the open model is: name, file, family, input, classes, default layers, and for
// special models their structure and live details for the current image:
// - a deep ensemble: its members, each member's prediction and its probability for the
//   ensemble's class (their spread is the ensemble's disagreement);
// - an interpretable-by-design feature-group model: the grid of groups and the exact weight of
//   every group and pair for the current image (the model's own attribution).
class ModelPanel : public QWidget
{
    Q_OBJECT

public:
    explicit ModelPanel(Session *session, QWidget *parent = nullptr);

    QLabel *summary() const { return m_summary; }
    QTreeWidget *members() const { return m_members; }
    GroupWeightsView *groups() const { return m_groups; }

private:
    void modelChanged();
    void requestDetails();

    Session *m_session;
    QLabel *m_summary;
    QTreeWidget *m_members;
    GroupWeightsView *m_groups;
    QLabel *m_detail;
};

// The image under a grid of feature groups, each cell tinted by its weight (with the percentage)
// and every pair of adjacent groups drawn as a bar across their border, thickness and colour by
// the pair's weight.
class GroupWeightsView : public QWidget
{
    Q_OBJECT

public:
    explicit GroupWeightsView(QWidget *parent = nullptr);

    // weights: groups (row-major) then pairs, as the model's group_attributions returns them.
    void setGroups(int rows, int cols, std::vector<std::pair<int, int>> pairs);
    void setContent(const QImage &image, std::vector<float> weights);
    void clear();
    const std::vector<float> &weights() const { return m_weights; }

    QSize sizeHint() const override { return {240, 240}; }

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    int m_rows = 0, m_cols = 0;
    std::vector<std::pair<int, int>> m_pairs;
    QImage m_image;
    std::vector<float> m_weights;
};

} // namespace heatlens::ui
