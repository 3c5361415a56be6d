#include "ui/ExplainView.h"

#include "core/explain/MethodRegistry.h"
#include "ui/HeatmapView.h"
#include "ui/Session.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>
#include <QVBoxLayout>

#include <opencv2/imgproc.hpp>

namespace heatlens::ui {

ExplainView::ExplainView(Session *session, QWidget *parent)
    : QWidget(parent)
    , m_session(session)
    , m_view(new HeatmapView(this))
    , m_colorMap(new QComboBox(this))
    , m_opacity(new QSlider(Qt::Horizontal, this))
    , m_clip(new QDoubleSpinBox(this))
    , m_absolute(new QCheckBox(tr("|value|"), this))
    , m_info(new QLabel(this))
    , m_hover(new QLabel(this))
{
    m_info->setWordWrap(true);
    m_info->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_view, 1);
    layout->addWidget(buildControls());
    layout->addWidget(m_info);
    connect(m_view, &HeatmapView::hovered, m_hover, &QLabel::setText);
    connect(session, &Session::sampleChanged, this, &ExplainView::onSampleChanged);
    connect(session, &Session::explanationStarted, this,
            [this] { m_view->setMessage(tr("Computing %1...").arg(m_session->methodId())); });
    connect(session, &Session::explanationReady, this, &ExplainView::onExplanationReady);
    connect(session, &Session::partialMapReady, this, &ExplainView::onPartialMap);
}

QWidget *ExplainView::buildControls()
{
    auto *bar = new QWidget(this);
    auto *row = new QHBoxLayout(bar);
    row->setContentsMargins(0, 0, 0, 0);
    for (const auto &info : colorMaps())
        m_colorMap->addItem(QString::fromStdString(info.name), int(info.id));
    m_colorMap->setToolTip(tr("Colour map (signed maps always use a diverging map)"));
    m_opacity->setRange(0, 100);
    m_opacity->setValue(55);
    m_opacity->setToolTip(tr("Heatmap opacity"));
    m_clip->setRange(50.0, 100.0);
    m_clip->setValue(99.0);
    m_clip->setSuffix(tr(" %"));
    m_clip->setToolTip(tr("Clip the colour scale at this percentile of |value|"));
    m_absolute->setToolTip(tr("Show the absolute value of signed maps"));
    row->addWidget(new QLabel(tr("Colour map"), bar));
    row->addWidget(m_colorMap);
    row->addWidget(new QLabel(tr("Opacity"), bar));
    row->addWidget(m_opacity, 1);
    row->addWidget(new QLabel(tr("Clip"), bar));
    row->addWidget(m_clip);
    row->addWidget(m_absolute);
    row->addWidget(m_hover);
    connect(m_colorMap, &QComboBox::currentIndexChanged, this, [this](int i) {
        m_view->setColorMap(static_cast<ColorMapId>(m_colorMap->itemData(i).toInt()));
    });
    connect(m_opacity, &QSlider::valueChanged, this,
            [this](int v) { m_view->setOpacity(v / 100.0); });
    connect(m_clip, &QDoubleSpinBox::valueChanged, m_view, &HeatmapView::setClipPercentile);
    connect(m_absolute, &QCheckBox::toggled, m_view, &HeatmapView::setShowAbsolute);
    return bar;
}

void ExplainView::onSampleChanged()
{
    m_view->setImage(m_session->image());
    m_view->setMessage(m_session->image().empty() ? tr("This image cannot be shown") : QString());
    m_info->clear();
}

void ExplainView::onExplanationReady()
{
    const auto &outcome = m_session->outcome();
    if (!outcome) {
        m_view->setMap({}, false);
        m_view->setMessage(tr("No explanation (see the log)"));
        return;
    }
    m_view->setMessage(QString());
    const auto &e = outcome->explanation;
    m_view->setMap(outcome->nativeMap, e.signedMap);
    const auto &model = *m_session->model();
    QString text =
        tr("<b>%1</b> of <b>%2</b> for %3 in %4 s, %5 forward / %6 backward passes")
            .arg(QString::fromStdString(MethodRegistry::instance().get(e.methodId).name()),
                 QString::fromStdString(model.label(e.target)),
                 QString::fromStdString(model.displayName()))
            .arg(e.seconds, 0, 'f', 3)
            .arg(e.forwardPasses)
            .arg(e.backwardPasses);
    if (!e.layer.empty())
        text += tr("; layer %1").arg(QString::fromStdString(e.layer));
    for (const auto &[name, value] : e.stats)
        text += QStringLiteral("; %1 %2").arg(QString::fromStdString(name)).arg(value, 0, 'g', 4);
    // What the method says about its own result (an approximation, a large completeness gap)
    // stays beside the map, not only in the log.
    for (const auto &w : e.warnings)
        text += QStringLiteral("<br><span style=\"color:#b35c00\">%1</span>")
                    .arg(QString::fromStdString(w).toHtmlEscaped());
    m_info->setText(text);
}

void ExplainView::onPartialMap()
{
    const cv::Mat &partial = m_session->partialMap();
    const cv::Mat &image = m_session->image();
    if (partial.empty() || image.empty())
        return;
    cv::Mat resized;
    cv::resize(partial, resized, image.size(), 0, 0, cv::INTER_LINEAR);
    m_view->setMap(resized, false);
}

} // namespace heatlens::ui
