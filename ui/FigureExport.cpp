#include "ui/FigureExport.h"

#include "core/explain/MethodRegistry.h"
#include "core/metrics/Agreement.h"
#include "core/model/InputImage.h"
#include "core/uncertainty/StochasticSource.h"
#include "ui/CompareSession.h"
#include "ui/CompareView.h"
#include "ui/CurvesSession.h"
#include "ui/CurvesView.h"
#include "ui/GroupsSession.h"
#include "ui/GroupsView.h"
#include "ui/MainWindow.h"
#include "ui/SanitySession.h"
#include "ui/Session.h"
#include "ui/UncertaintySession.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFontComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>

namespace heatlens::ui {

namespace {

QString qs(const std::string &s)
{
    return QString::fromStdString(s);
}

} // namespace

std::string figureKindOfTab(int tab)
{
    // The tabs in MainWindow's order: Explain, Compare, Curves, Sanity, Groups, Uncertainty.
    static const char *const kinds[] = {"explain", "grid",   "curves",
                                        "sanity",  "groups", "uncertainty"};
    return tab >= 0 && tab < 6 ? kinds[tab] : "explain";
}

QString figureNotReady(const MainWindow &window, const std::string &kind)
{
    const Session *session = window.session();
    if (!session->model() || !session->outcome())
        return QObject::tr("Nothing to draw yet: pick an image and wait for its explanation.");
    if (kind == "explain")
        return {};
    if (kind == "grid") {
        const CompareSession *compare = window.compareSession();
        return compare->isComplete() && compare->agreement()
                   ? QString()
                   : QObject::tr("The Compare grid is not complete yet.");
    }
    if (kind == "curves")
        return window.curvesView()->isComplete() ? QString()
                                                 : QObject::tr("The curves are not computed yet.");
    if (kind == "sanity") {
        const SanitySession *sanity = window.sanitySession();
        return sanity->isComplete() && sanity->result()
                   ? QString()
                   : QObject::tr("The sanity check has not finished yet.");
    }
    if (kind == "uncertainty") {
        const UncertaintySession *u = window.uncertaintySession();
        if (!u->isComplete() || !u->result())
            return QObject::tr("The uncertainty samples are not complete yet.");
        return u->curves() && u->curvesComplete()
                   ? QString()
                   : QObject::tr("The banded curves are still being computed.");
    }
    if (kind == "groups") {
        const auto &r = window.groupsSession()->result();
        return r && r->computed && !r->partial
                   ? QString()
                   : QObject::tr("The group interactions are not computed yet (press Run on the "
                                 "Groups tab).");
    }
    return QObject::tr("Unknown figure kind %1").arg(qs(kind));
}

std::optional<Figure> windowFigure(const MainWindow &window, const std::string &kind,
                                   const MapColours &colours, QString *whyNot)
{
    if (const QString why = figureNotReady(window, kind); !why.isEmpty()) {
        if (whyNot)
            *whyNot = why;
        return std::nullopt;
    }
    const Session *session = window.session();
    const ModelPtr model = session->model();
    const ExplainOutcome &outcome = *session->outcome();
    const QString method =
        methodDisplayName(outcome.explanation.methodId, outcome.explanation.params);
    if (kind == "explain")
        return explainFigure(explainFigureInput(*model, session->image(), outcome, colours));
    if (kind == "grid") {
        const CompareSession *compare = window.compareSession();
        std::vector<const CellResult *> cells;
        for (int r = 0; r < compare->rowCount(); ++r)
            for (int c = 0; c < compare->columnCount(); ++c)
                cells.push_back(compare->cellResult(r, c));
        std::vector<std::string> methods;
        for (const QString &id : compare->methods())
            methods.push_back(id.toStdString());
        GridFigureInput in =
            gridFigureInput(session->image(), compare->models(), methods, std::move(cells));
        const CompareView *view = window.compareView();
        switch (view->scaleMode()) {
        case CompareView::Scale::PerCell:
            in.scale = GridFigureInput::Scale::Cell;
            break;
        case CompareView::Scale::PerMethod:
            in.scale = GridFigureInput::Scale::Method;
            break;
        case CompareView::Scale::Shared:
            in.scale = GridFigureInput::Scale::Shared;
            break;
        }
        in.absolute = view->absolute();
        in.colours = colours;
        in.imageId = session->sampleId();
        if (in.cells.size() > 1) {
            const std::string metric = view->matrixMetric().toStdString();
            in.agreement = gridAgreementMatrix(
                *compare->agreement(), in.models, in.methods, metric,
                qs(agreementMetricLabel(metric, compare->agreementOptions().topFraction)));
        }
        return gridFigure(in);
    }
    if (kind == "curves") {
        const CurvesView *view = window.curvesView();
        CurvesFigureInput in;
        in.series = view->series();
        in.logit = view->logitBox()->isChecked();
        in.features = view->featuresBox()->currentData().toInt() == 1 ? QStringLiteral("grid cells")
                                                                      : QStringLiteral("pixels");
        in.title = curvesTitle(qs(model->displayName()), session->sampleId(),
                               qs(model->label(outcome.explanation.target)),
                               view->orderBox()->currentData().toString().toStdString(),
                               view->modeBox()->currentData().toString().toStdString(),
                               view->baselineBox()->currentText().toStdString());
        in.caption = curvesCaption(view->stepsBox()->value());
        return curvesFigure(in);
    }
    if (kind == "sanity") {
        SanityFigureInput in;
        in.result = *window.sanitySession()->result();
        in.image = inputToRgb8(model->preprocess(session->image()), model->card());
        in.model = qs(model->displayName());
        in.method = method;
        in.colours = colours;
        return sanityFigure(in);
    }
    if (kind == "uncertainty") {
        const UncertaintySession *u = window.uncertaintySession();
        UncertaintyFigureInput in;
        in.result = *u->result();
        in.curves = *u->curves();
        // The input the samples were drawn on (the worker preprocessed it).
        in.image = inputToRgb8(
            u->input().defined() ? u->input() : model->preprocess(session->image()), model->card());
        in.model = qs(model->displayName());
        in.method = method;
        in.source = qs(SourceRegistry::instance().get(u->sourceId()).name());
        in.colours = colours;
        return uncertaintyFigure(in);
    }
    const GroupsResult &r = *window.groupsSession()->result(); // groups
    GroupsFigureInput in;
    in.image = inputToRgb8(r.input, model->card());
    in.grouping = r.grouping;
    in.interactions = r.interactions;
    in.topPairs = window.groupsView()->topKSlider()->value();
    in.model = qs(model->displayName());
    in.target = qs(model->label(r.target));
    return groupsFigure(in);
}

FigureDialog::FigureDialog(const QString &kind, const QString &stem, QWidget *parent)
    : QDialog(parent)
    , m_size(new QComboBox(this))
    , m_mm(new QDoubleSpinBox(this))
    , m_px(new QSpinBox(this))
    , m_dpi(new QSpinBox(this))
    , m_font(new QFontComboBox(this))
    , m_fontSize(new QSpinBox(this))
    , m_colours(new QComboBox(this))
    , m_png(new QCheckBox(QStringLiteral("PNG"), this))
    , m_svg(new QCheckBox(QStringLiteral("SVG"), this))
    , m_pdf(new QCheckBox(QStringLiteral("PDF"), this))
    , m_folder(new QLineEdit(this))
    , m_stem(new QLineEdit(stem, this))
{
    setWindowTitle(tr("Export figure: %1").arg(kind));
    QSettings settings;
    const FigureStyle defaults;
    m_size->addItem(tr("Single column, 89 mm"), 89.0);
    m_size->addItem(tr("Double column, 183 mm"), 183.0);
    m_size->addItem(tr("Width in millimetres"), -1.0);
    m_size->addItem(tr("Width in pixels"), -2.0);
    m_size->setCurrentIndex(settings.value(QStringLiteral("figure/size"), 0).toInt());
    m_mm->setRange(20.0, 500.0);
    m_mm->setSuffix(QStringLiteral(" mm"));
    m_mm->setValue(settings.value(QStringLiteral("figure/mm"), 120.0).toDouble());
    m_px->setRange(64, 20000);
    m_px->setSuffix(QStringLiteral(" px"));
    m_px->setValue(settings.value(QStringLiteral("figure/px"), 1600).toInt());
    m_dpi->setRange(50, 1200);
    m_dpi->setSuffix(QStringLiteral(" dpi"));
    m_dpi->setValue(settings.value(QStringLiteral("figure/dpi"), defaults.dpi).toInt());
    m_font->setCurrentFont(
        QFont(settings.value(QStringLiteral("figure/font"), defaults.fontFamily).toString()));
    m_fontSize->setRange(5, 24);
    m_fontSize->setSuffix(QStringLiteral(" pt"));
    m_fontSize->setValue(
        settings.value(QStringLiteral("figure/fontSize"), defaults.fontPt).toInt());
    for (const auto &info : colorMaps())
        if (!info.diverging)
            m_colours->addItem(qs(info.name), qs(info.name));
    m_colours->setToolTip(tr("Magnitudes; signed maps take the diverging coolwarm. viridis, "
                             "inferno and magma stay readable with colour-blindness and in grey"));
    m_colours->setCurrentIndex(std::max(
        0, m_colours->findData(settings.value(QStringLiteral("figure/colours"), "viridis"))));
    const QString formats =
        settings.value(QStringLiteral("figure/formats"), QStringLiteral("png,svg,pdf")).toString();
    m_png->setChecked(formats.contains(QLatin1String("png")));
    m_svg->setChecked(formats.contains(QLatin1String("svg")));
    m_pdf->setChecked(formats.contains(QLatin1String("pdf")));
    m_folder->setText(settings
                          .value(QStringLiteral("figure/folder"),
                                 QStandardPaths::writableLocation(QStandardPaths::PicturesLocation))
                          .toString());
    auto *browse = new QPushButton(tr("Choose..."), this);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString dir =
            QFileDialog::getExistingDirectory(this, tr("Folder of the figure"), m_folder->text());
        if (!dir.isEmpty())
            m_folder->setText(dir);
    });
    auto *form = new QFormLayout;
    auto *sizeRow = new QHBoxLayout;
    sizeRow->addWidget(m_size, 1);
    sizeRow->addWidget(m_mm);
    sizeRow->addWidget(m_px);
    form->addRow(tr("Width"), sizeRow);
    form->addRow(tr("PNG resolution"), m_dpi);
    auto *fontRow = new QHBoxLayout;
    fontRow->addWidget(m_font, 1);
    fontRow->addWidget(m_fontSize);
    form->addRow(tr("Font"), fontRow);
    form->addRow(tr("Colour map"), m_colours);
    auto *formatRow = new QHBoxLayout;
    for (QCheckBox *box : {m_png, m_svg, m_pdf})
        formatRow->addWidget(box);
    formatRow->addStretch(1);
    form->addRow(tr("Formats"), formatRow);
    auto *folderRow = new QHBoxLayout;
    folderRow->addWidget(m_folder, 1);
    folderRow->addWidget(browse);
    form->addRow(tr("Folder"), folderRow);
    form->addRow(tr("File name"), m_stem);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);
    connect(m_size, &QComboBox::currentIndexChanged, this, &FigureDialog::updateEnabled);
    for (QCheckBox *box : {m_png, m_svg, m_pdf})
        connect(box, &QCheckBox::toggled, this, &FigureDialog::updateEnabled);
    updateEnabled();
}

void FigureDialog::updateEnabled()
{
    const double size = m_size->currentData().toDouble();
    m_mm->setVisible(size == -1.0);
    m_px->setVisible(size == -2.0);
    auto *buttons = findChild<QDialogButtonBox *>();
    if (buttons)
        buttons->button(QDialogButtonBox::Save)
            ->setEnabled(m_png->isChecked() || m_svg->isChecked() || m_pdf->isChecked());
}

FigureRequest FigureDialog::request() const
{
    FigureRequest r;
    const double size = m_size->currentData().toDouble();
    r.style.widthMm = size > 0 ? size : m_mm->value();
    r.style.widthPx = size == -2.0 ? m_px->value() : 0;
    r.style.dpi = m_dpi->value();
    r.style.fontFamily = m_font->currentFont().family();
    r.style.fontPt = m_fontSize->value();
    r.formats.clear();
    if (m_png->isChecked())
        r.formats.push_back(FigureFormat::Png);
    if (m_svg->isChecked())
        r.formats.push_back(FigureFormat::Svg);
    if (m_pdf->isChecked())
        r.formats.push_back(FigureFormat::Pdf);
    r.colours.map = colorMapFromName(m_colours->currentData().toString().toStdString());
    return r;
}

QString FigureDialog::folder() const
{
    return m_folder->text();
}

QString FigureDialog::stem() const
{
    return m_stem->text().trimmed();
}

void FigureDialog::accept()
{
    QSettings settings;
    settings.setValue(QStringLiteral("figure/size"), m_size->currentIndex());
    settings.setValue(QStringLiteral("figure/mm"), m_mm->value());
    settings.setValue(QStringLiteral("figure/px"), m_px->value());
    settings.setValue(QStringLiteral("figure/dpi"), m_dpi->value());
    settings.setValue(QStringLiteral("figure/font"), m_font->currentFont().family());
    settings.setValue(QStringLiteral("figure/fontSize"), m_fontSize->value());
    settings.setValue(QStringLiteral("figure/colours"), m_colours->currentData());
    QStringList formats;
    for (const auto &f : request().formats)
        formats << qs(figureFormatName(f));
    settings.setValue(QStringLiteral("figure/formats"), formats.join(QLatin1Char(',')));
    settings.setValue(QStringLiteral("figure/folder"), m_folder->text());
    QDialog::accept();
}

} // namespace heatlens::ui
