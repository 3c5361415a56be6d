#include "ui/ModelPanel.h"

#include "core/model/Ensemble.h"
#include "ui/ImageConvert.h"
#include "ui/JobRunner.h"
#include "ui/Session.h"

#include <QHeaderView>
#include <QLabel>
#include <QPainter>
#include <QScrollArea>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <optional>

namespace heatlens::ui {

namespace {

// What the panel computes for the current image on the worker thread.
struct Details
{
    std::optional<EnsembleVote> vote;
    std::vector<float> groupWeights;
};

QString esc(const std::string &text)
{
    return QString::fromStdString(text).toHtmlEscaped();
}

QString row(const QString &key, const QString &value)
{
    return QStringLiteral("<tr><td style='padding-right:8px'><b>%1</b></td><td>%2</td></tr>")
        .arg(key, value);
}

QString joined(const std::vector<float> &values)
{
    QStringList parts;
    for (float v : values)
        parts << QString::number(double(v), 'g', 4);
    return parts.join(QStringLiteral(", "));
}

QString summaryHtml(const Model &model)
{
    const auto &c = model.card();
    QString html = QStringLiteral("<table>");
    html += row(QObject::tr("Name"), esc(model.displayName()));
    const QString family = model.isEnsemble() ? QObject::tr("deep ensemble of %1 %2 models")
                                                    .arg(model.members().size())
                                                    .arg(esc(c.family))
                                              : esc(c.family);
    html += row(QObject::tr("Kind"), family);
    html += row(QObject::tr("File"), esc(model.path()));
    html += row(QObject::tr("Input"), QStringLiteral("%1 x %2 x %3, mean [%4], std [%5]")
                                          .arg(c.inputChannels)
                                          .arg(c.inputHeight)
                                          .arg(c.inputWidth)
                                          .arg(joined(c.mean), joined(c.std)));
    html += row(QObject::tr("Classes"), QString::number(model.numClasses()));
    if (!model.defaultCamLayer().empty())
        html += row(QObject::tr("CAM layer"), esc(model.defaultCamLayer()));
    if (c.patchGridHeight > 0)
        html += row(QObject::tr("Tokens"),
                    QObject::tr("%1 x %2 patches%3")
                        .arg(c.patchGridHeight)
                        .arg(c.patchGridWidth)
                        .arg(c.clsToken >= 0 ? QObject::tr(" + CLS") : QString()));
    if (!c.attention.empty())
        html += row(QObject::tr("Attention"), QObject::tr("%1 blocks (%2, ...)")
                                                  .arg(c.attention.size())
                                                  .arg(esc(c.attention.front())));
    if (c.groupGridRows > 0)
        html += row(QObject::tr("Groups"),
                    QObject::tr("%1 x %2 grid of %3 x %4-pixel groups, %5 pair experts; exact "
                                "attributions from %6(x)")
                        .arg(c.groupGridRows)
                        .arg(c.groupGridCols)
                        .arg(c.inputHeight / c.groupGridRows)
                        .arg(c.inputWidth / c.groupGridCols)
                        .arg(c.groupPairs.size())
                        .arg(esc(c.groupMethod)));
    if (!c.description.empty())
        html += row(QObject::tr("About"), esc(c.description));
    return html + QStringLiteral("</table>");
}

QColor weightColour(double t) // 0 -> transparent-ish blue, 1 -> saturated orange
{
    t = std::clamp(t, 0.0, 1.0);
    return QColor::fromHsvF(0.08, 0.25 + 0.75 * t, 1.0, 0.15 + 0.6 * t);
}

} // namespace

ModelPanel::ModelPanel(Session *session, QWidget *parent)
    : QWidget(parent)
    , m_session(session)
    , m_summary(new QLabel(this))
    , m_members(new QTreeWidget(this))
    , m_groups(new GroupWeightsView(this))
    , m_detail(new QLabel(this))
{
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_summary->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_members->setColumnCount(3);
    m_members->setHeaderLabels({tr("Member"), tr("Predicts"), tr("p(ensemble class)")});
    m_members->setRootIsDecorated(false);
    m_members->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_members->setMinimumHeight(120);
    m_detail->setWordWrap(true);
    m_groups->setMinimumHeight(200);
    // Everything scrolls as one page: a narrow dock must not clip the summary or overlap the
    // group view with its caption.
    auto *page = new QWidget;
    auto *layout = new QVBoxLayout(page);
    layout->setContentsMargins(4, 4, 4, 4);
    // What is live for the current image first, then what the model is.
    layout->addWidget(m_groups);
    layout->addWidget(m_detail);
    layout->addWidget(m_members);
    layout->addWidget(m_summary);
    layout->addStretch();
    auto *scroll = new QScrollArea(this);
    scroll->setWidget(page);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->addWidget(scroll);
    connect(session, &Session::modelChanged, this, &ModelPanel::modelChanged);
    connect(session, &Session::sampleChanged, this, &ModelPanel::requestDetails);
    modelChanged();
}

void ModelPanel::modelChanged()
{
    const auto &model = m_session->model();
    m_members->clear();
    m_groups->clear();
    m_detail->clear();
    if (!model) {
        m_summary->setText(tr("No model open. File > Open model... or File > Open demo."));
        m_members->hide();
        m_groups->hide();
        return;
    }
    m_summary->setText(summaryHtml(*model));
    m_members->setVisible(model->isEnsemble());
    for (const auto &member : model->members()) {
        auto *item = new QTreeWidgetItem(m_members);
        item->setText(0, QString::fromStdString(std::filesystem::path(member->path()).stem()));
        item->setToolTip(0, QString::fromStdString(member->path()));
    }
    const auto &c = model->card();
    m_groups->setVisible(model->hasGroupAttributions());
    if (model->hasGroupAttributions())
        m_groups->setGroups(c.groupGridRows, c.groupGridCols, c.groupPairs);
    requestDetails();
}

void ModelPanel::requestDetails()
{
    const auto model = m_session->model();
    const cv::Mat image = m_session->image();
    if (!model || image.empty() || (!model->isEnsemble() && !model->hasGroupAttributions()))
        return;
    auto work = [model, image](const JobContext &) {
        Details d;
        const auto x = model->preprocess(image);
        if (model->isEnsemble())
            d.vote = ensembleVote(*model, x);
        if (model->hasGroupAttributions()) {
            const auto w = model->groupAttributions(x)[0].contiguous();
            d.groupWeights.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
        }
        return d;
    };
    auto done = [this, model, image](const Details &d) {
        if (model != m_session->model())
            return; // the model changed meanwhile
        QStringList lines;
        if (d.vote && int(d.vote->members.size()) == m_members->topLevelItemCount()) {
            const EnsembleVote &vote = *d.vote;
            for (size_t i = 0; i < vote.members.size(); ++i) {
                auto *item = m_members->topLevelItem(int(i));
                const auto &m = vote.members[i];
                item->setText(1, QStringLiteral("%1 (%2)")
                                     .arg(QString::fromStdString(model->label(m.predicted)))
                                     .arg(double(m.predictedProb), 0, 'f', 3));
                item->setText(2, QString::number(double(m.probOfEnsembleClass), 'f', 3));
                item->setForeground(1, m.predicted == vote.ensembleClass ? palette().text()
                                                                         : QBrush(Qt::red));
            }
            lines << tr("Ensemble: %1 (p = %2); members' p for it: mean %3, std %4")
                         .arg(QString::fromStdString(model->label(vote.ensembleClass)))
                         .arg(double(vote.ensembleProb), 0, 'f', 3)
                         .arg(vote.meanProbOfEnsembleClass, 0, 'f', 3)
                         .arg(vote.stdProbOfEnsembleClass, 0, 'f', 3);
        }
        if (!d.groupWeights.empty()) {
            m_groups->setContent(sampleToQImage(image), d.groupWeights);
            const auto &c = model->card();
            const size_t groups = size_t(c.groupGridRows * c.groupGridCols);
            std::vector<size_t> order(d.groupWeights.size());
            std::iota(order.begin(), order.end(), 0);
            std::sort(order.begin(), order.end(),
                      [&](size_t a, size_t b) { return d.groupWeights[a] > d.groupWeights[b]; });
            QStringList top;
            for (size_t k = 0; k < std::min<size_t>(4, order.size()); ++k) {
                const size_t e = order[k];
                const QString name = e < groups ? tr("group %1").arg(e)
                                                : tr("pair %1+%2")
                                                      .arg(c.groupPairs[e - groups].first)
                                                      .arg(c.groupPairs[e - groups].second);
                top << QStringLiteral("%1 %2%").arg(name).arg(100.0 * double(d.groupWeights[e]), 0,
                                                              'f', 1);
            }
            double pairShare = 0.0;
            for (size_t e = groups; e < d.groupWeights.size(); ++e)
                pairShare += double(d.groupWeights[e]);
            lines << tr("Exact attribution (the model's own expert weights): %1. Interactions "
                        "(pairs) carry %2% in total.")
                         .arg(top.join(QStringLiteral(", ")))
                         .arg(100.0 * pairShare, 0, 'f', 1);
        }
        m_detail->setText(lines.join(QStringLiteral("\n")));
    };
    m_session->runner()
        ->request<Details>(QStringLiteral("model-details"), tr("Model details"), this)
        .work(work)
        .onDone(done)
        .submit();
}

GroupWeightsView::GroupWeightsView(QWidget *parent)
    : QWidget(parent)
{
    setMinimumSize(160, 160);
    setToolTip(tr("Exact group and pair weights of the feature-group model for this image"));
}

void GroupWeightsView::setGroups(int rows, int cols, std::vector<std::pair<int, int>> pairs)
{
    m_rows = rows;
    m_cols = cols;
    m_pairs = std::move(pairs);
    update();
}

void GroupWeightsView::setContent(const QImage &image, std::vector<float> weights)
{
    m_image = image;
    m_weights = std::move(weights);
    update();
}

void GroupWeightsView::clear()
{
    m_image = QImage();
    m_weights.clear();
    update();
}

void GroupWeightsView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.fillRect(rect(), palette().base());
    if (m_rows <= 0 || m_cols <= 0)
        return;
    const int side = std::min(width(), height()) - 8;
    const QRectF area((width() - side) / 2.0, (height() - side) / 2.0, side, side);
    if (!m_image.isNull())
        painter.drawImage(area, m_image.convertToFormat(QImage::Format_Grayscale8));
    const double cw = area.width() / m_cols, ch = area.height() / m_rows;
    const size_t groups = size_t(m_rows * m_cols);
    const float maxWeight =
        m_weights.empty() ? 1.0f
                          : std::max(1e-6f, *std::max_element(m_weights.begin(), m_weights.end()));
    QFont font = painter.font();
    font.setPointSizeF(std::max(6.0, ch / 5.0));
    painter.setFont(font);
    for (size_t g = 0; g < groups; ++g) {
        const QRectF cell(area.left() + double(g % size_t(m_cols)) * cw,
                          area.top() + double(g / size_t(m_cols)) * ch, cw, ch);
        if (g < m_weights.size()) {
            painter.fillRect(cell, weightColour(m_weights[g] / maxWeight));
            painter.setPen(Qt::black);
            painter.drawText(cell.adjusted(2, 2, -2, -2), Qt::AlignLeft | Qt::AlignTop,
                             QString::number(100.0 * double(m_weights[g]), 'f', 1));
        }
        painter.setPen(QPen(QColor(255, 255, 255, 120), 1));
        painter.drawRect(cell);
    }
    // Pairs: a bar across the shared border of the two cells.
    for (size_t k = 0; k < m_pairs.size() && groups + k < m_weights.size(); ++k) {
        const auto [a, b] = m_pairs[k];
        const double t = m_weights[groups + k] / maxWeight;
        const QPointF ca(area.left() + (a % m_cols + 0.5) * cw,
                         area.top() + (a / m_cols + 0.5) * ch);
        const QPointF cb(area.left() + (b % m_cols + 0.5) * cw,
                         area.top() + (b / m_cols + 0.5) * ch);
        const QPointF mid = (ca + cb) / 2.0, half = (cb - ca) / 4.0;
        painter.setPen(
            QPen(weightColour(t).darker(130), 1.0 + 7.0 * t, Qt::SolidLine, Qt::RoundCap));
        painter.drawLine(mid - half, mid + half);
    }
}

} // namespace heatlens::ui
