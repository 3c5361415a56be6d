#include "ui/GroupsView.h"

#include "core/metrics/Similarity.h"
#include "core/model/InputImage.h"
#include "core/render/ColorMap.h"
#include "ui/FlowLayout.h"
#include "ui/GroupsSession.h"
#include "ui/ImageConvert.h"
#include "ui/Session.h"
#include "ui/figure/CurvePlot.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <functional>

namespace heatlens::ui {

namespace {

QString qs(const std::string &s)
{
    return QString::fromStdString(s);
}

QString number(double v, int digits = 3)
{
    return std::isfinite(v) ? QString::number(v, 'f', digits) : QStringLiteral("-");
}

QColor signColour(double v, double alpha)
{
    QColor c = v >= 0 ? QColor(200, 40, 40) : QColor(40, 80, 210);
    c.setAlphaF(std::clamp(alpha, 0.0, 1.0));
    return c;
}

} // namespace

GroupMapView::GroupMapView(QWidget *parent)
    : QWidget(parent)
{
    setMinimumSize(240, 240);
}

void GroupMapView::show(const cv::Mat &image, const cv::Mat &labels,
                        const std::vector<double> &values,
                        const std::vector<std::tuple<int, int, double>> &edges,
                        const std::vector<int> &highlight)
{
    m_labels = labels;
    m_edges = edges;
    m_highlight = highlight;
    if (image.empty() || labels.empty()) {
        m_image = QImage();
        update();
        return;
    }
    // Tint every pixel by its group's value: diverging, scaled by the largest |value|.
    cv::Mat rgb = image.clone();
    double scale = 0.0;
    for (double v : values)
        scale = std::max(scale, std::abs(v));
    const cv::Mat lut = colorMapLut(ColorMapId::CoolWarm);
    if (!values.empty() && scale > 0.0)
        for (int y = 0; y < rgb.rows; ++y)
            for (int x = 0; x < rgb.cols; ++x) {
                const double v = values[size_t(labels.at<int>(y, x))] / scale; // [-1, 1]
                const cv::Vec3b c = lut.at<cv::Vec3b>(0, int(std::lround((v + 1.0) * 127.5)));
                cv::Vec3b &px = rgb.at<cv::Vec3b>(y, x);
                for (int k = 0; k < 3; ++k)
                    px[k] = uchar(0.35 * px[k] + 0.65 * c[k]);
            }
    m_image = toQImage(rgb);
    const int count = values.empty() ? 0 : int(values.size());
    std::vector<QPointF> sums(size_t(std::max(count, 1)));
    std::vector<int> n(sums.size(), 0);
    m_centroids.assign(sums.size(), QPointF());
    for (int y = 0; y < labels.rows; ++y)
        for (int x = 0; x < labels.cols; ++x) {
            const int l = labels.at<int>(y, x);
            if (l < int(sums.size())) {
                sums[size_t(l)] += QPointF(x + 0.5, y + 0.5);
                ++n[size_t(l)];
            }
        }
    for (size_t i = 0; i < sums.size(); ++i)
        m_centroids[i] = n[i] ? sums[i] / n[i] : QPointF();
    update();
}

void GroupMapView::setSelectedGroup(int group)
{
    m_selected = group;
    update();
}

QRectF GroupMapView::imageRect() const
{
    if (m_image.isNull())
        return {};
    const double s =
        std::min((width() - 8.0) / m_image.width(), (height() - 8.0) / m_image.height());
    const QSizeF size(m_image.width() * s, m_image.height() * s);
    return QRectF(QPointF((width() - size.width()) / 2, (height() - size.height()) / 2), size);
}

void GroupMapView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.fillRect(rect(), QColor(40, 40, 40));
    if (m_image.isNull()) {
        painter.setPen(Qt::lightGray);
        painter.drawText(rect(), Qt::AlignCenter, tr("Open a model and pick an image"));
        return;
    }
    const QRectF target = imageRect();
    painter.drawImage(target, m_image);
    const double s = target.width() / m_labels.cols;
    auto at = [&](const QPointF &p) { return target.topLeft() + p * s; };
    // Group boundaries, and the highlighted or selected groups' outlines thicker.
    auto outline = [&](int group, const QPen &pen) {
        painter.setPen(pen);
        for (int y = 0; y < m_labels.rows; ++y)
            for (int x = 0; x < m_labels.cols; ++x) {
                const int l = m_labels.at<int>(y, x);
                const bool mine = group < 0 || l == group;
                if (!mine)
                    continue;
                if (x + 1 < m_labels.cols && m_labels.at<int>(y, x + 1) != l)
                    painter.drawLine(at(QPointF(x + 1, y)), at(QPointF(x + 1, y + 1)));
                if (y + 1 < m_labels.rows && m_labels.at<int>(y + 1, x) != l)
                    painter.drawLine(at(QPointF(x, y + 1)), at(QPointF(x + 1, y + 1)));
                if (group >= 0 && (x == 0 || m_labels.at<int>(y, x - 1) != l))
                    painter.drawLine(at(QPointF(x, y)), at(QPointF(x, y + 1)));
                if (group >= 0 && (y == 0 || m_labels.at<int>(y - 1, x) != l))
                    painter.drawLine(at(QPointF(x, y)), at(QPointF(x + 1, y)));
            }
    };
    outline(-1, QPen(QColor(255, 255, 255, 90), 1));
    for (int g : m_highlight)
        outline(g, QPen(QColor(255, 210, 0), 2.5));
    if (m_selected >= 0)
        outline(m_selected, QPen(Qt::white, 3));
    // The strongest interactions as edges between centroids.
    double scale = 0.0;
    for (const auto &[i, j, v] : m_edges)
        scale = std::max(scale, std::abs(v));
    painter.setRenderHint(QPainter::Antialiasing);
    for (const auto &[i, j, v] : m_edges) {
        if (i >= int(m_centroids.size()) || j >= int(m_centroids.size()) || scale <= 0.0)
            continue;
        const double w = std::abs(v) / scale;
        painter.setPen(
            QPen(signColour(v, 0.35 + 0.6 * w), 1.0 + 7.0 * w, Qt::SolidLine, Qt::RoundCap));
        painter.drawLine(at(m_centroids[size_t(i)]), at(m_centroids[size_t(j)]));
    }
}

void GroupMapView::mousePressEvent(QMouseEvent *event)
{
    const QRectF target = imageRect();
    if (m_labels.empty() || !target.contains(event->position()))
        return;
    const double s = target.width() / m_labels.cols;
    const QPointF p = (event->position() - target.topLeft()) / s;
    const int x = std::clamp(int(p.x()), 0, m_labels.cols - 1);
    const int y = std::clamp(int(p.y()), 0, m_labels.rows - 1);
    const int group = m_labels.at<int>(y, x);
    m_selected = group == m_selected ? -1 : group;
    update();
    Q_EMIT groupClicked(m_selected);
}

GroupsView::GroupsView(GroupsSession *document, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
    , m_grouping(new QComboBox(this))
    , m_count(new QSpinBox(this))
    , m_method(new QComboBox(this))
    , m_index(new QComboBox(this))
    , m_budget(new QSpinBox(this))
    , m_adjacent(new QCheckBox(tr("neighbours only"), this))
    , m_baseline(new QComboBox(this))
    , m_run(new QPushButton(tr("Run"), this))
    , m_status(new QLabel(this))
    , m_map(new GroupMapView(this))
    , m_topK(new QSlider(Qt::Horizontal, this))
    , m_topKLabel(new QLabel(this))
    , m_matrix(new QCustomPlot(this))
    , m_treeMode(new QComboBox(this))
    , m_tree(new QTreeWidget(this))
    , m_stats(new QLabel(this))
    , m_behind(new QLabel(this))
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(buildControls());
    m_status->setWordWrap(true);
    layout->addWidget(m_status);
    auto *split = new QSplitter(Qt::Horizontal, this);
    auto *left = new QWidget(split);
    auto *leftColumn = new QVBoxLayout(left);
    leftColumn->setContentsMargins(0, 0, 0, 0);
    leftColumn->addWidget(m_map, 1);
    auto *topRow = new QHBoxLayout();
    topRow->addWidget(new QLabel(tr("Strongest pairs drawn"), left));
    m_topK->setRange(0, 40);
    m_topK->setValue(10);
    topRow->addWidget(m_topK, 1);
    topRow->addWidget(m_topKLabel);
    leftColumn->addLayout(topRow);
    split->addWidget(left);
    auto *right = new QWidget(split);
    auto *rightColumn = new QVBoxLayout(right);
    rightColumn->setContentsMargins(0, 0, 0, 0);
    m_stats->setWordWrap(true);
    m_stats->setTextFormat(Qt::RichText);
    rightColumn->addWidget(m_stats);
    m_matrix->setMinimumHeight(220);
    rightColumn->addWidget(m_matrix, 3);
    m_treeMode->addItem(tr("Hierarchy: ACD merges"), QStringLiteral("acd"));
    m_treeMode->addItem(tr("Archipelago: sets of the strongest pairs"), QStringLiteral("topk"));
    m_treeMode->setToolTip(
        tr("ACD merges: neighbouring groups merged greedily by the gain of their union over "
           "its parts. Archipelago: the pairs drawn (slider) merged where they share a group, "
           "each set scored by its importance alone, v(set) - v(empty)."));
    rightColumn->addWidget(m_treeMode);
    m_tree->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    rightColumn->addWidget(m_tree, 2);
    m_behind->setMinimumHeight(130);
    m_behind->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_behind->setToolTip(tr("The masked images behind the value under the mouse in the matrix "
                            "(or of the group clicked on the image), with their target logits"));
    rightColumn->addWidget(m_behind);
    split->addWidget(right);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    layout->addWidget(split, 1);

    connect(document, &GroupsSession::resultChanged, this, [this] {
        m_behindGame.reset();
        m_behind->clear();
        display();
    });
    m_matrix->setMouseTracking(true);
    connect(m_matrix, &QCustomPlot::mouseMove, this, [this](QMouseEvent *event) {
        const int i = int(std::lround(m_matrix->xAxis->pixelToCoord(event->position().x())));
        const int j = int(std::lround(m_matrix->yAxis->pixelToCoord(event->position().y())));
        showBehind(i, j);
    });
    connect(document, &GroupsSession::statusChanged, m_status, &QLabel::setText);
    connect(document, &GroupsSession::groupsReady, this, &GroupsView::groupsReady);
    connect(document, &GroupsSession::errorOccurred, this, &GroupsView::errorOccurred);
    connect(m_map, &GroupMapView::groupClicked, this, [this](int group) {
        displayMap();
        if (group >= 0)
            showBehind(group, group);
    });
    connect(m_topK, &QSlider::valueChanged, this, [this] {
        if (m_treeMode->currentData() == QStringLiteral("topk"))
            displayTree();
        displayMap();
    });
    connect(m_treeMode, &QComboBox::currentIndexChanged, this, [this] {
        displayTree();
        displayMap();
    });
    connect(m_tree, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem *item) {
        m_treeHighlight.clear();
        if (item)
            for (const auto &v : item->data(0, Qt::UserRole).toList())
                m_treeHighlight.push_back(v.toInt());
        displayMap();
    });
}

QWidget *GroupsView::buildControls()
{
    auto *bar = new QWidget(this);
    auto *row = new FlowLayout(bar); // wraps when the window is narrow
    row->setContentsMargins(0, 0, 0, 0);
    for (const char *g : {"grid", "slic", "slico", "seeds", "lsc", "felzenszwalb", "scansegment",
                          "tokens", "model"})
        m_grouping->addItem(QString::fromLatin1(g), QString::fromLatin1(g));
    m_grouping->setToolTip(tr("How pixels form groups: a regular grid (count = cells per side), "
                              "superpixels, a transformer's tokens or a feature-group model's "
                              "own groups"));
    m_count->setRange(2, 400);
    m_count->setKeyboardTracking(false);
    for (const auto &[label, id] : std::vector<std::pair<QString, QString>>{
             {tr("exact"), QStringLiteral("exact")},
             {tr("permutation"), QStringLiteral("permutation")},
             {tr("regression"), QStringLiteral("regression")},
             {tr("ArchDetect"), QStringLiteral("archdetect")},
             {tr("CD"), QStringLiteral("cd")}})
        m_method->addItem(label, id);
    m_method->setToolTip(tr("exact: all 2^p coalitions; permutation: sampled SII; regression: "
                            "Faith-SHAP; ArchDetect: p^2 + p + 2 calls; CD: contextual "
                            "decomposition of the model's operators (CNNs)"));
    for (const char *i : {"k-sii", "sii", "stii", "bii", "sv", "banzhaf"})
        m_index->addItem(QString::fromLatin1(i), QString::fromLatin1(i));
    m_index->setToolTip(tr("The index: any in exact mode, sii or k-sii for permutation "
                           "sampling; the other estimators have their own"));
    m_budget->setRange(0, 1000000);
    m_budget->setSpecialValueText(tr("default budget"));
    m_budget->setSingleStep(100);
    m_budget->setKeyboardTracking(false);
    m_budget->setToolTip(tr("Model calls of the sampling estimators"));
    for (const char *b : {"black", "mean", "blur", "inpaint", "group-mean"})
        m_baseline->addItem(QString::fromLatin1(b), QString::fromLatin1(b));
    m_baseline->setToolTip(tr("What masked groups become"));
    m_run->setToolTip(tr("Compute an estimate whatever it costs"));
    row->addWidget(new QLabel(tr("Groups"), bar));
    row->addWidget(m_grouping);
    row->addWidget(m_count);
    row->addWidget(m_method);
    row->addWidget(m_index);
    row->addWidget(m_budget);
    row->addWidget(m_adjacent);
    row->addWidget(new QLabel(tr("masked to"), bar));
    row->addWidget(m_baseline);
    row->addWidget(m_run);
    const auto &g = m_document->grouping();
    m_grouping->setCurrentIndex(m_grouping->findData(qs(g.method)));
    m_count->setValue(g.method == "grid" ? int(std::lround(std::sqrt(g.groups))) : g.groups);
    for (QWidget *w : std::initializer_list<QWidget *>{m_grouping, m_method, m_index, m_baseline})
        connect(qobject_cast<QComboBox *>(w), &QComboBox::currentIndexChanged, this,
                &GroupsView::forwardOptions);
    connect(m_count, &QSpinBox::valueChanged, this, &GroupsView::forwardOptions);
    connect(m_budget, &QSpinBox::valueChanged, this, &GroupsView::forwardOptions);
    connect(m_adjacent, &QCheckBox::toggled, this, &GroupsView::forwardOptions);
    connect(m_run, &QPushButton::clicked, m_document, &GroupsSession::run);
    return bar;
}

void GroupsView::forwardOptions()
{
    GroupingOptions g;
    g.method = m_grouping->currentData().toString().toStdString();
    const int n = m_count->value();
    g.groups = g.method == "grid" ? n * n : n;
    m_count->setEnabled(g.method != "tokens" && g.method != "model");
    EstimateOptions e;
    e.estimator = m_method->currentData().toString().toStdString();
    // Exact mode takes any index, permutation sampling sii or k-sii; the others have their own,
    // shown greyed in the index box (its placeholder) while the exact choice is kept for later.
    const char *own = e.estimator == "regression"   ? "fsii"
                      : e.estimator == "cd"         ? "cd"
                      : e.estimator == "archdetect" ? "archdetect"
                                                    : nullptr;
    {
        const QSignalBlocker block(m_index);
        if (own) {
            if (m_index->currentIndex() >= 0)
                m_exactIndex = m_index->currentData().toString();
            m_index->setPlaceholderText(QString::fromLatin1(own));
            m_index->setCurrentIndex(-1);
        } else if (m_index->currentIndex() < 0) {
            m_index->setCurrentIndex(std::max(0, m_index->findData(m_exactIndex)));
        }
        const QString chosen = m_index->currentData().toString();
        if (e.estimator == "permutation" && chosen != "sii" && chosen != "k-sii")
            m_index->setCurrentIndex(m_index->findData(QStringLiteral("sii")));
    }
    e.index = own ? own : m_index->currentData().toString().toStdString();
    m_index->setEnabled(!own);
    e.budget = m_budget->value();
    e.adjacentOnly = m_adjacent->isChecked();
    try {
        m_document->setMasker(m_baseline->currentData().toString().toStdString());
        m_document->setGrouping(g);
        m_document->setEstimate(e);
    } catch (const std::exception &ex) {
        Q_EMIT errorOccurred(QString::fromUtf8(ex.what()));
    }
}

void GroupsView::restore(const GroupingOptions &grouping, const EstimateOptions &estimate,
                         const std::string &masker)
{
    {
        const QSignalBlocker a(m_grouping), b(m_count), c(m_method), d(m_index), e(m_budget),
            f(m_adjacent), g(m_baseline);
        auto choose = [](QComboBox *box, const std::string &id) {
            const int at = box->findData(QString::fromStdString(id));
            if (at >= 0)
                box->setCurrentIndex(at);
        };
        choose(m_grouping, grouping.method);
        m_count->setValue(grouping.method == "grid"
                              ? int(std::lround(std::sqrt(double(grouping.groups))))
                              : grouping.groups);
        choose(m_method, estimate.estimator);
        if (estimate.estimator == "exact" || estimate.estimator == "permutation")
            choose(m_index, estimate.index);
        m_budget->setValue(estimate.budget);
        m_adjacent->setChecked(estimate.adjacentOnly);
        choose(m_baseline, masker);
    }
    forwardOptions();
}

GroupsView::~GroupsView() = default;

bool GroupsView::showBehind(int i, int j)
{
    const auto &r = m_document->result();
    if (!r || !r->computed || i < 0 || j < 0 || i >= r->grouping.count || j >= r->grouping.count)
        return false;
    if (i > j)
        std::swap(i, j);
    const auto full = r->leaveOut.find({-1, -1});
    const auto withoutI = r->leaveOut.find({i, i}), withoutJ = r->leaveOut.find({j, j});
    const auto withoutBoth = r->leaveOut.find({i, j});
    if (full == r->leaveOut.end() || withoutI == r->leaveOut.end() ||
        (i != j && (withoutJ == r->leaveOut.end() || withoutBoth == r->leaveOut.end())))
        return false;
    const ModelPtr model = m_document->session()->model();
    if (!model)
        return false;
    if (!m_behindGame) {
        MaskerOptions masker;
        masker.fill = r->masker;
        m_behindGame = std::make_unique<CoalitionGame>(model, r->input, r->grouping, masker);
    }
    const int p = r->grouping.count;
    const PlayerSet all = PlayerSet::all(p);
    struct Panel
    {
        PlayerSet present;
        QString caption;
        double value;
    };
    std::vector<Panel> panels = {
        {all, tr("all groups"), full->second},
        {PlayerSet(all).remove(i), tr("without %1").arg(i), withoutI->second}};
    QString summary;
    if (i == j) {
        summary = tr("Group %1: v(all) - v(all without %1) = %2")
                      .arg(i)
                      .arg(number(full->second - withoutI->second));
    } else {
        panels.push_back({PlayerSet(all).remove(j), tr("without %1").arg(j), withoutJ->second});
        panels.push_back({PlayerSet(all).remove(i).remove(j), tr("without %1, %2").arg(i).arg(j),
                          withoutBoth->second});
        const double delta =
            full->second - withoutI->second - withoutJ->second + withoutBoth->second;
        summary = tr("Pair %1, %2 among all other groups: v(all) - v(-%1) - v(-%2) + "
                     "v(-%1,%2) = %3; estimate %4")
                      .arg(i)
                      .arg(j)
                      .arg(number(delta))
                      .arg(number(r->interactions.pair(i, j)));
        if (!r->exactPairs.empty())
            summary += tr("; exact %1").arg(number(r->exactPairs[size_t(i * p + j)]));
    }
    if (i == j && !r->exactSingles.empty())
        summary += tr("; estimate %1, exact Shapley value %2")
                       .arg(number(r->interactions.singles[size_t(i)]))
                       .arg(number(r->exactSingles[size_t(i)]));
    // Four thumbnails fit the column's width (at most 96 px each).
    const int gap = 6, captionHeight = 34, summaryHeight = 36;
    const int side = std::clamp((m_behind->width() - 4 * gap) / 4, 40, 96);
    const int width = std::max(m_behind->width(), 4 * (side + gap));
    QPixmap sheet(width, side + captionHeight + summaryHeight);
    sheet.fill(palette().color(QPalette::Window));
    QPainter painter(&sheet);
    for (size_t k = 0; k < panels.size(); ++k) {
        const cv::Mat rgb =
            inputToRgb8(m_behindGame->maskedInput(panels[k].present), model->card());
        const QImage image =
            toQImage(rgb).scaled(side, side, Qt::KeepAspectRatio, Qt::SmoothTransformation);
        const int x = int(k) * (side + gap);
        painter.drawImage(x + (side - image.width()) / 2, 0, image);
        painter.setPen(palette().color(QPalette::WindowText));
        painter.drawText(QRect(x, side + 2, side, captionHeight - 2),
                         Qt::AlignHCenter | Qt::AlignTop | Qt::TextWordWrap,
                         panels[k].caption + "\n" + number(panels[k].value));
    }
    painter.drawText(QRect(0, side + captionHeight, width, summaryHeight),
                     Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap, summary);
    painter.end();
    m_behind->setMinimumHeight(sheet.height());
    m_behind->setPixmap(sheet);
    m_behind->setAccessibleDescription(summary);
    return true;
}

void GroupsView::syncControls()
{
    // The session may change the grouping itself (a feature-group model opens on its own).
    const auto &g = m_document->grouping();
    const QSignalBlocker blockGrouping(m_grouping);
    const QSignalBlocker blockCount(m_count);
    m_grouping->setCurrentIndex(m_grouping->findData(qs(g.method)));
    if (g.method != "tokens" && g.method != "model")
        m_count->setValue(g.method == "grid" ? int(std::lround(std::sqrt(g.groups))) : g.groups);
    m_count->setEnabled(g.method != "tokens" && g.method != "model");
}

void GroupsView::display()
{
    syncControls();
    displayMap();
    displayMatrix();
    displayTree();
    displayStats();
}

void GroupsView::displayMap()
{
    const auto &r = m_document->result();
    if (!r) {
        m_map->show({}, {}, {}, {}, {});
        return;
    }
    const cv::Mat image = inputToRgb8(r->input, m_document->session()->model()->card());
    std::vector<double> values;
    std::vector<std::tuple<int, int, double>> edges;
    const auto &e = r->interactions;
    const int selected = m_map->selectedGroup();
    if (r->computed) {
        if (selected >= 0 && selected < e.players && !e.estimatedPairs.empty()) {
            // The selected group's interaction with every other group.
            values.assign(size_t(e.players), 0.0);
            for (int j = 0; j < e.players; ++j)
                values[size_t(j)] = j == selected ? 0.0 : e.pair(selected, j);
        } else {
            values = e.singles;
        }
        auto pairs = e.estimatedPairs;
        std::sort(pairs.begin(), pairs.end(), [&](const auto &a, const auto &b) {
            return std::abs(e.pair(a.first, a.second)) > std::abs(e.pair(b.first, b.second));
        });
        for (size_t k = 0; k < pairs.size() && int(k) < m_topK->value(); ++k)
            edges.emplace_back(pairs[k].first, pairs[k].second,
                               e.pair(pairs[k].first, pairs[k].second));
    } else {
        values.assign(size_t(r->grouping.count), 0.0);
    }
    m_topKLabel->setText(QString::number(edges.size()));
    m_map->show(image, r->grouping.labels, values, edges, m_treeHighlight);
}

void GroupsView::displayMatrix()
{
    m_matrix->clearPlottables();
    const auto &r = m_document->result();
    if (!r || !r->computed || r->interactions.estimatedPairs.empty()) {
        m_matrix->replot();
        return;
    }
    const auto &e = r->interactions;
    auto *map = new QCPColorMap(m_matrix->xAxis, m_matrix->yAxis);
    map->setInterpolate(false); // one cell per pair of groups, not a smooth field
    map->data()->setSize(e.players, e.players);
    map->data()->setRange(QCPRange(0, e.players - 1), QCPRange(0, e.players - 1));
    double scale = 1e-12;
    for (int i = 0; i < e.players; ++i)
        for (int j = 0; j < e.players; ++j) {
            map->data()->setCell(i, j, e.pair(i, j));
            scale = std::max(scale, std::abs(e.pair(i, j)));
        }
    QCPColorGradient gradient(QCPColorGradient::gpPolar);
    gradient.setLevelCount(256);
    map->setGradient(gradient.inverted());
    map->setDataRange(QCPRange(-scale, scale));
    m_matrix->xAxis->setLabel(tr("group"));
    m_matrix->yAxis->setLabel(tr("group"));
    m_matrix->xAxis->setRange(-0.5, e.players - 0.5);
    m_matrix->yAxis->setRange(-0.5, e.players - 0.5);
    m_matrix->replot();
}

void GroupsView::displayTree()
{
    m_tree->clear();
    m_treeHighlight.clear();
    const auto &r = m_document->result();
    const bool topK = m_treeMode->currentData() == QStringLiteral("topk");
    m_tree->setHeaderLabels(topK ? QStringList{tr("Groups"), tr("Importance"), tr("Pairs")}
                                 : QStringList{tr("Groups"), tr("Importance"), tr("Gain")});
    if (r && r->partial) {
        m_tree->addTopLevelItem(
            new QTreeWidgetItem(QStringList{tr("(merged once the whole budget has run)")}));
        return;
    }
    if (topK) {
        displayTopKSets();
        return;
    }
    if (!r || r->hierarchy.empty())
        return;
    const auto &nodes = r->hierarchy;
    std::function<QTreeWidgetItem *(int)> build = [&](int id) {
        const ClusterNode &n = nodes[size_t(id)];
        auto *item = new QTreeWidgetItem();
        QStringList names;
        QVariantList groups;
        for (int g : n.groups) {
            names << QString::number(g);
            groups << g;
        }
        item->setText(0, names.size() > 8 ? tr("%1 groups").arg(names.size())
                                          : names.join(QStringLiteral(", ")));
        item->setText(1, number(n.importance));
        item->setText(2, n.left >= 0 ? number(n.gain) : QString());
        item->setData(0, Qt::UserRole, groups);
        if (n.left >= 0) {
            item->addChild(build(n.left));
            item->addChild(build(n.right));
        }
        return item;
    };
    // Roots: the merges (or leaves) no other node contains.
    std::vector<bool> child(nodes.size(), false);
    for (const auto &n : nodes)
        if (n.left >= 0) {
            child[size_t(n.left)] = true;
            child[size_t(n.right)] = true;
        }
    for (size_t id = 0; id < nodes.size(); ++id)
        if (!child[id])
            m_tree->addTopLevelItem(build(int(id)));
    m_tree->expandToDepth(1);
}

void GroupsView::displayTopKSets()
{
    const auto &r = m_document->result();
    if (!r || !r->computed || r->interactions.estimatedPairs.empty())
        return;
    const auto &e = r->interactions;
    const int k = m_topK->value();
    auto pairs = e.estimatedPairs;
    std::stable_sort(pairs.begin(), pairs.end(), [&](const auto &a, const auto &b) {
        return std::abs(e.pair(a.first, a.second)) > std::abs(e.pair(b.first, b.second));
    });
    pairs.resize(std::min(pairs.size(), size_t(std::max(0, k))));
    std::vector<std::pair<double, QTreeWidgetItem *>> items;
    for (const auto &set : topKSets(e, k)) {
        const auto found = r->topKImportance.find(set);
        if (set.size() < 2 || found == r->topKImportance.end())
            continue;
        QStringList names;
        QVariantList groups;
        for (int g : set) {
            names << QString::number(g);
            groups << g;
        }
        int inside = 0;
        for (const auto &[i, j] : pairs)
            inside += std::binary_search(set.begin(), set.end(), i) &&
                      std::binary_search(set.begin(), set.end(), j);
        auto *item = new QTreeWidgetItem(QStringList{
            names.join(QStringLiteral(", ")), number(found->second), QString::number(inside)});
        item->setData(0, Qt::UserRole, groups);
        items.emplace_back(std::abs(found->second), item);
    }
    std::stable_sort(items.begin(), items.end(),
                     [](const auto &a, const auto &b) { return a.first > b.first; });
    for (const auto &[importance, item] : items)
        m_tree->addTopLevelItem(item);
}

void GroupsView::displayStats()
{
    const auto &r = m_document->result();
    if (!r) {
        m_stats->clear();
        return;
    }
    const auto &model = *m_document->session()->model();
    QString text = tr("<b>%1</b><br>").arg(qs(r->grouping.description).toHtmlEscaped());
    if (!r->computed) {
        text += tr("This estimate needs <b>%1</b> model calls, about %2 s at %3 calls/s: "
                   "<i>Run</i> computes it.")
                    .arg(r->plannedCalls)
                    .arg(r->plannedCalls * r->secondsPerCall, 0, 'f', 1)
                    .arg(1.0 / std::max(1e-12, r->secondsPerCall), 0, 'f', 0);
        m_stats->setText(text);
        return;
    }
    const auto &e = r->interactions;
    text += tr("%1 (%2) of the %3 logit: v(empty) %4, v(all) %5; %6 calls in %7 s")
                .arg(qs(e.estimator), qs(e.index), qs(model.label(r->target)))
                .arg(number(e.emptyValue), number(e.fullValue))
                .arg(e.calls)
                .arg(e.seconds, 0, 'f', 2);
    if (!e.stopReason.empty())
        text += QStringLiteral(" (") + qs(e.stopReason).toHtmlEscaped() + QLatin1Char(')');
    if (r->recovery)
        text += tr("<br>Against the model's exact answers: MSE %1, Precision@10 %2, Kendall tau "
                   "%3, false positives %4")
                    .arg(r->recovery->mse, 0, 'g', 3)
                    .arg(number(r->recovery->precisionAt10, 2), number(r->recovery->kendallTau),
                         number(r->recovery->falsePositive));
    if (!r->gateWeights.empty() && int(r->gateWeights.size()) == e.players) {
        cv::Mat a(1, e.players, CV_32F), b(1, e.players, CV_32F);
        for (int i = 0; i < e.players; ++i) {
            a.at<float>(0, i) = float(std::abs(e.singles[size_t(i)]));
            b.at<float>(0, i) = float(r->gateWeights[size_t(i)]);
        }
        text += tr("<br>Rank agreement with the model's gate weights (its own attribution, a "
                   "gate share: a different quantity): Spearman %1")
                    .arg(number(spearman(a, b)));
    }
    m_stats->setText(text);
}

void GroupsView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    m_document->setActive(true);
}

void GroupsView::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_document->setActive(false);
}

} // namespace heatlens::ui
