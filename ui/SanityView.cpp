#include "ui/SanityView.h"

#include "core/explain/Explainer.h"
#include "core/explain/MethodRegistry.h"
#include "core/render/ColorMap.h"
#include "ui/ImageConvert.h"
#include "ui/JobRunner.h"
#include "ui/Session.h"
#include "ui/figure/CurvePlot.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QVBoxLayout>

#include <opencv2/core.hpp>

namespace heatlens::ui {

namespace {

constexpr size_t kCacheSize = 16;

struct SanityJobResult
{
    std::string key;
    SanityResult result;
};

} // namespace

SanityView::SanityView(Session *session, QWidget *parent)
    : QWidget(parent)
    , m_session(session)
    , m_mode(new QComboBox(this))
    , m_threshold(new QDoubleSpinBox(this))
    , m_run(new QPushButton(tr("Run again"), this))
    , m_status(new QLabel(this))
    , m_verdict(new QLabel(this))
    , m_plot(new QCustomPlot(this))
    , m_strip(new QWidget(this))
    , m_stripLayout(new QGridLayout(m_strip))
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(buildControls());
    m_verdict->setWordWrap(true);
    m_verdict->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_verdict);
    m_plot->setMinimumHeight(220);
    layout->addWidget(m_plot, 3);
    auto *scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setWidget(m_strip);
    scroll->setMinimumHeight(150);
    m_stripLayout->setContentsMargins(2, 2, 2, 2);
    m_stripLayout->setSpacing(6);
    layout->addWidget(scroll, 2);

    m_plot->xAxis->setLabel(tr("randomised from the logits down"));
    m_plot->yAxis->setLabel(tr("similarity to the original map"));
    m_plot->yAxis->setRange(-0.3, 1.05);
    m_plot->legend->setVisible(true);
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    const QStringList names = {tr("Spearman |map|"), tr("Spearman"), tr("SSIM"), tr("HOG Pearson")};
    for (int i = 0; i < names.size(); ++i) {
        auto *g = m_plot->addGraph();
        g->setName(names[i]);
        QPen pen(seriesColour(i), i == 0 ? 2.5 : 1.5);
        g->setPen(pen);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
    }
    m_thresholdLine = new QCPItemStraightLine(m_plot);
    m_thresholdLine->setPen(QPen(Qt::gray, 1, Qt::DashLine));

    connect(session, &Session::explanationReady, this, &SanityView::refresh);
    connect(session, &Session::sampleChanged, this, &SanityView::refresh);
    connect(m_mode, &QComboBox::currentIndexChanged, this, &SanityView::refresh);
    connect(m_threshold, &QDoubleSpinBox::valueChanged, this, &SanityView::refresh);
    connect(m_run, &QPushButton::clicked, this, [this] {
        m_cache.erase(key());
        m_pendingKey.clear();
        refresh();
    });
}

QWidget *SanityView::buildControls()
{
    auto *bar = new QWidget(this);
    auto *row = new QHBoxLayout(bar);
    row->setContentsMargins(0, 0, 0, 0);
    m_mode->addItem(tr("cascading"), QStringLiteral("cascading"));
    m_mode->addItem(tr("independent"), QStringLiteral("independent"));
    m_mode->setToolTip(tr("Cascading: randomise layers from the logits down, one more at each "
                          "step. Independent: one layer (or block) at a time."));
    m_threshold->setRange(0.0, 1.0);
    m_threshold->setSingleStep(0.05);
    m_threshold->setValue(0.5);
    m_threshold->setToolTip(tr("A method passes when the rank correlation of absolute maps "
                               "falls below this once the model is random"));
    row->addWidget(new QLabel(tr("Randomisation"), bar));
    row->addWidget(m_mode);
    row->addWidget(new QLabel(tr("pass below"), bar));
    row->addWidget(m_threshold);
    row->addWidget(m_run);
    row->addWidget(m_status, 1);
    return bar;
}

std::string SanityView::key() const
{
    const auto &o = m_session->outcome();
    if (!m_session->model() || !o)
        return {};
    return m_session->model()->cacheKey() + "|" + m_session->sampleId().toStdString() + "|" +
           o->explanation.methodId + "|" + o->explanation.params.canonical() + "|" +
           std::to_string(o->explanation.target) + "|" +
           m_mode->currentData().toString().toStdString() + "|" +
           std::to_string(m_threshold->value());
}

void SanityView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    refresh();
}

void SanityView::refresh()
{
    const std::string k = key();
    if (k.empty()) {
        m_status->setText(tr("No explanation to check yet."));
        return;
    }
    if (auto it = m_cache.find(k); it != m_cache.end()) {
        display(it->second, true);
        m_status->setText(tr("%1 randomisation steps").arg(it->second.steps.size()));
        return;
    }
    if (!isVisible() || k == m_pendingKey)
        return;
    const auto &outcome = *m_session->outcome();
    const ModelPtr model = m_session->model();
    const cv::Mat image = m_session->image().clone();
    const std::string methodId = outcome.explanation.methodId;
    const Params params = outcome.explanation.params;
    const int target = outcome.explanation.target;
    const auto dataset = m_session->dataset();
    SanityOptions options;
    options.mode = m_mode->currentData().toString().toStdString();
    options.threshold = m_threshold->value();
    m_pendingKey = k;
    m_result.reset();
    m_complete = false;
    clearStrip();
    m_status->setText(
        tr("Randomising %1 layer by layer...").arg(QString::fromStdString(model->displayName())));
    m_verdict->clear();
    const QString method = QString::fromStdString(MethodRegistry::instance().get(methodId).name());
    m_session->runner()->submit(
        {QStringLiteral("sanity"), tr("Sanity check of %1").arg(method),
         [=](const JobContext &ctx) -> std::any {
             torch::Tensor references;
             const Method &m = MethodRegistry::instance().get(methodId);
             if (m.usesReferences() && dataset)
                 references = drawReferences(*model, *dataset, 64, ctx);
             const auto input = model->preprocess(image);
             auto result = sanityCheck(model, input, target, methodId, params, options, ctx,
                                       references, [&](const SanityResult &sofar) {
                                           ctx.reportPartialResult(
                                               0.0, SanityJobResult{k, sofar},
                                               "step " + std::to_string(sofar.steps.size()));
                                       });
             return SanityJobResult{k, std::move(result)};
         },
         this,
         [this](std::any r) {
             auto done = std::any_cast<SanityJobResult>(std::move(r));
             m_cache[done.key] = done.result;
             m_cacheOrder.push_back(done.key);
             while (m_cacheOrder.size() > kCacheSize) {
                 m_cache.erase(m_cacheOrder.front());
                 m_cacheOrder.pop_front();
             }
             if (m_pendingKey == done.key)
                 m_pendingKey.clear();
             if (done.key == key()) {
                 display(done.result, true);
                 m_status->setText(tr("%1 randomisation steps").arg(done.result.steps.size()));
                 Q_EMIT sanityReady();
             }
         },
         [this, k](const QString &message) {
             if (m_pendingKey == k)
                 m_pendingKey.clear();
             m_status->setText(tr("Sanity check failed."));
             Q_EMIT errorOccurred(tr("Cannot run the sanity check:\n%1").arg(message));
         },
         [this](const ProgressUpdate &u) {
             if (!u.partialResult.has_value())
                 return;
             const auto *p = std::any_cast<SanityJobResult>(&u.partialResult);
             if (p && p->key == key())
                 display(p->result, false);
         }});
}

void SanityView::clearStrip()
{
    while (auto *item = m_stripLayout->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    m_thumbnails = 0;
}

void SanityView::addThumbnail(const cv::Mat &map, const QString &caption, double scale)
{
    Normalization norm;
    norm.sharedScale = scale;
    cv::Mat normalized;
    normalizeMap(cv::abs(map), norm, normalized);
    QImage image = toQImage(colorize(normalized, ColorMapId::Inferno));
    image = image.scaled(112, 112, Qt::KeepAspectRatio,
                         image.width() < 112 ? Qt::FastTransformation : Qt::SmoothTransformation);
    auto *cell = new QWidget(m_strip);
    auto *v = new QVBoxLayout(cell);
    v->setContentsMargins(0, 0, 0, 0);
    auto *picture = new QLabel(cell);
    picture->setPixmap(QPixmap::fromImage(image));
    auto *text = new QLabel(caption, cell);
    text->setWordWrap(true);
    text->setMaximumWidth(120);
    v->addWidget(picture);
    v->addWidget(text);
    m_stripLayout->addWidget(cell, 0, m_thumbnails++, Qt::AlignTop);
    cell->show(); // a child added to a visible widget is not shown by itself
}

void SanityView::display(const SanityResult &r, bool complete)
{
    m_result = r;
    m_complete = complete;
    clearStrip();
    // Each map on its own scale (its 99th percentile of |map|): what is compared is the
    // structure, the randomised maps are often much weaker or stronger.
    auto scaleOf = [](const cv::Mat &map) {
        Normalization n;
        cv::Mat unused;
        return normalizeMap(cv::abs(map), n, unused);
    };
    addThumbnail(r.original, tr("original"), scaleOf(r.original));
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    ticker->addTick(0, tr("original"));
    QVector<double> x = {0.0}, y[4];
    for (auto &v : y)
        v.push_back(1.0);
    for (size_t i = 0; i < r.steps.size(); ++i) {
        const auto &s = r.steps[i];
        const QString label = QString::fromStdString(s.label);
        addThumbnail(s.map, tr("%1\n|rho| %2").arg(label).arg(s.spearmanAbs, 0, 'f', 2),
                     scaleOf(s.map));
        x.push_back(double(i + 1));
        y[0].push_back(s.spearmanAbs);
        y[1].push_back(s.spearman);
        y[2].push_back(s.ssim);
        y[3].push_back(s.hogPearson);
        ticker->addTick(double(i + 1), label);
    }
    for (int g = 0; g < 4; ++g)
        m_plot->graph(g)->setData(x, y[g], true);
    m_plot->xAxis->setTicker(ticker);
    m_plot->xAxis->setTickLabelRotation(r.steps.size() > 6 ? 60 : 0);
    m_plot->xAxis->setRange(-0.3, std::max(1.0, double(r.steps.size())) + 0.3);
    m_thresholdLine->point1->setCoords(0, r.threshold);
    m_thresholdLine->point2->setCoords(1, r.threshold);
    const QString method =
        QString::fromStdString(MethodRegistry::instance().get(r.methodId).name());
    m_plot->replot();
    if (!complete) {
        m_verdict->setText(tr("%1: %2 steps so far...").arg(method).arg(r.steps.size()));
        m_verdict->setStyleSheet({});
        return;
    }
    m_verdict->setText(
        tr("<b>%1 %2</b>").arg(method, QString::fromStdString(r.verdict).toHtmlEscaped()));
    m_verdict->setStyleSheet(r.passed ? QStringLiteral("color: #1a7f37;")
                                      : QStringLiteral("color: #b42318;"));
}

} // namespace heatlens::ui
