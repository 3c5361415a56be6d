#include "ui/SanityView.h"

#include "core/explain/MethodRegistry.h"
#include "core/render/ColorMap.h"
#include "ui/ImageConvert.h"
#include "ui/SanitySession.h"
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

SanityView::SanityView(SanitySession *document, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
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

    connect(document, &SanitySession::resultChanged, this, &SanityView::display);
    connect(document, &SanitySession::statusChanged, m_status, &QLabel::setText);
    connect(document, &SanitySession::sanityReady, this, &SanityView::sanityReady);
    connect(document, &SanitySession::errorOccurred, this, &SanityView::errorOccurred);
    connect(m_mode, &QComboBox::currentIndexChanged, this, &SanityView::forwardOptions);
    connect(m_threshold, &QDoubleSpinBox::valueChanged, this, &SanityView::forwardOptions);
    connect(m_run, &QPushButton::clicked, document, &SanitySession::runAgain);
    forwardOptions();
}

const std::optional<SanityResult> &SanityView::result() const
{
    return m_document->result();
}

bool SanityView::isComplete() const
{
    return m_document->isComplete();
}

void SanityView::forwardOptions()
{
    SanityOptions options = m_document->options();
    options.mode = m_mode->currentData().toString().toStdString();
    options.threshold = m_threshold->value();
    m_document->setOptions(options);
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

void SanityView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    m_document->setActive(true);
}

void SanityView::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_document->setActive(false);
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

void SanityView::display()
{
    clearStrip();
    if (!m_document->result()) {
        m_verdict->clear();
        for (int g = 0; g < m_plot->graphCount(); ++g)
            m_plot->graph(g)->data()->clear();
        m_plot->replot();
        return;
    }
    const SanityResult &r = *m_document->result();
    const bool complete = m_document->isComplete();
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
