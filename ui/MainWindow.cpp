#include "ui/MainWindow.h"

#include "core/data/Dataset.h"
#include "core/explain/MethodRegistry.h"
#include "core/groups/Grouping.h"
#include "core/jobs/ResultCache.h"
#include "core/model/Ensemble.h"
#include "core/model/Zoo.h"
#include "core/report/ExplanationExport.h"
#include "ui/CacheMenu.h"
#include "ui/CompareSession.h"
#include "ui/CompareView.h"
#include "ui/CurvesSession.h"
#include "ui/CurvesView.h"
#include "ui/DatasetBrowser.h"
#include "ui/ExplainView.h"
#include "ui/GroupsSession.h"
#include "ui/GroupsView.h"
#include "ui/HeatmapView.h"
#include "ui/JobRunner.h"
#include "ui/MethodPanel.h"
#include "ui/ModelPanel.h"
#include "ui/PredictionPanel.h"
#include "ui/SanitySession.h"
#include "ui/SanityView.h"
#include "ui/Session.h"
#include "ui/ThreadsMenu.h"
#include "ui/UncertaintySession.h"
#include "ui/UncertaintyView.h"

#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScreen>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QTabWidget>
#include <QTime>

#include <cmath>
#include <filesystem>
#include <set>

namespace heatlens::ui {

namespace {

QDockWidget *dock(QMainWindow *window, const QString &title, const QString &name, QWidget *w,
                  Qt::DockWidgetArea area)
{
    auto *d = new QDockWidget(title, window);
    d->setObjectName(name); // for saveState/restoreState
    d->setWidget(w);
    window->addDockWidget(area, d);
    return d;
}

} // namespace

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
    , m_runner(new JobRunner(this))
    , m_session(new Session(m_runner, std::make_shared<CacheBudget>(CacheMenu::savedLimit()), this))
    , m_compareDocument(new CompareSession(m_session, this))
    , m_curvesDocument(new CurvesSession(m_session, this))
    , m_sanityDocument(new SanitySession(m_session, this))
    , m_uncertaintyDocument(new UncertaintySession(m_session, this))
    , m_groupsDocument(new GroupsSession(m_session, this))
    , m_explain(new ExplainView(m_session, this))
    , m_compare(new CompareView(m_compareDocument, this))
    , m_curves(new CurvesView(m_curvesDocument, this))
    , m_sanity(new SanityView(m_sanityDocument, this))
    , m_uncertainty(new UncertaintyView(m_uncertaintyDocument, this))
    , m_groups(new GroupsView(m_groupsDocument, this))
{
    auto *tabs = new QTabWidget(this);
    tabs->addTab(m_explain, tr("Explain"));
    tabs->addTab(m_compare, tr("Compare"));
    tabs->addTab(m_curves, tr("Curves"));
    tabs->addTab(m_sanity, tr("Sanity"));
    tabs->addTab(m_groups, tr("Groups"));
    tabs->addTab(m_uncertainty, tr("Uncertainty"));
    setCentralWidget(tabs);
    buildDocks();
    buildMenus();
    buildStatusBar();
    setAcceptDrops(true);
    connect(m_session, &Session::errorOccurred, this, &MainWindow::showError);
    connect(m_session, &Session::warning, this, &MainWindow::logWarning);
    connect(m_runner, &JobRunner::error, this, &MainWindow::showError);
    connect(m_curves, &CurvesView::errorOccurred, this, &MainWindow::showError);
    connect(m_curves, &CurvesView::message, this, &MainWindow::logMessage);
    connect(m_sanity, &SanityView::errorOccurred, this, &MainWindow::showError);
    connect(m_uncertainty, &UncertaintyView::errorOccurred, this, &MainWindow::showError);
    connect(m_groups, &GroupsView::errorOccurred, this, &MainWindow::showError);
    connect(m_compare, &CompareView::errorOccurred, this, &MainWindow::showError);
    connect(m_compare, &CompareView::message, this, &MainWindow::logMessage);
    connect(m_compare, &CompareView::curvesRequested, this,
            [this, tabs](const QString &name, const cv::Mat &map) {
                m_curves->addMapCurve(name, map);
                tabs->setCurrentWidget(m_curves);
            });
    connect(m_session, &Session::modelChanged, this, &MainWindow::updateTitle);
    connect(m_session, &Session::datasetChanged, this, &MainWindow::updateTitle);
    connect(m_session, &Session::modelChanged, this, [this] {
        if (const auto &model = m_session->model(); model && !model->path().empty())
            remember(QStringLiteral("recent/models"), QString::fromStdString(model->path()));
    });
    connect(m_session, &Session::datasetChanged, this, [this] {
        const QString source = QString::fromStdString(m_session->dataset()->source());
        if (QFileInfo::exists(source)) // an image list made on the fly has no one path
            remember(QStringLiteral("recent/datasets"), source);
    });
    updateTitle();
    restoreLayout();
    logMessage(ThreadsMenu::applySaved());
}

MainWindow::~MainWindow()
{
    m_runner->cancelAll();
}

void MainWindow::buildDocks()
{
    m_browser = new DatasetBrowser(m_session, this);
    m_prediction = new PredictionPanel(m_session, this);
    m_methods = new MethodPanel(m_session, this);
    m_model = new ModelPanel(m_session, this);
    m_log = new QPlainTextEdit(this);
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(2000);
    dock(this, tr("Dataset"), QStringLiteral("dataset"), m_browser, Qt::LeftDockWidgetArea);
    dock(this, tr("Prediction"), QStringLiteral("prediction"), m_prediction,
         Qt::RightDockWidgetArea);
    dock(this, tr("Method"), QStringLiteral("method"), m_methods, Qt::RightDockWidgetArea);
    auto *modelDock =
        dock(this, tr("Model"), QStringLiteral("model"), m_model, Qt::RightDockWidgetArea);
    tabifyDockWidget(findChild<QDockWidget *>(QStringLiteral("method")), modelDock);
    findChild<QDockWidget *>(QStringLiteral("method"))->raise();
    m_logDock = dock(this, tr("Log"), QStringLiteral("log"), m_log, Qt::BottomDockWidgetArea);
    auto *data = findChild<QDockWidget *>(QStringLiteral("dataset"));
    resizeDocks({data}, {230}, Qt::Horizontal); // two columns of thumbnails
    resizeDocks({m_logDock}, {110}, Qt::Vertical);
}

void MainWindow::buildMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("Open &model..."), QKeySequence::Open, this, &MainWindow::openModelDialog);
    file->addAction(tr("Open &dataset..."), QKeySequence(tr("Ctrl+D")), this,
                    &MainWindow::openDatasetDialog);
    m_demoMenu = file->addMenu(tr("Open d&emo model"));
    connect(m_demoMenu, &QMenu::aboutToShow, this, &MainWindow::fillDemoMenu);
    fillDemoMenu();
    m_recentMenu = file->addMenu(tr("Open &recent"));
    connect(m_recentMenu, &QMenu::aboutToShow, this, &MainWindow::fillRecentMenu);
    fillRecentMenu();
    file->addSeparator();
    file->addAction(tr("Open &workspace..."), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open workspace"), QString(),
                                                          tr("Heatlens workspaces (*.json)"));
        if (!path.isEmpty())
            openWorkspace(path);
    });
    file->addAction(tr("&Save workspace..."), QKeySequence::Save, this, [this] {
        QString path = QFileDialog::getSaveFileName(this, tr("Save workspace"),
                                                    QStringLiteral("workspace.json"),
                                                    tr("Heatlens workspaces (*.json)"));
        if (path.isEmpty())
            return;
        if (!path.endsWith(QLatin1String(".json")))
            path += QLatin1String(".json");
        saveWorkspace(path); // the dialog asked before replacing a file
    });
    file->addSeparator();
    file->addAction(tr("&Export explanation..."), QKeySequence(tr("Ctrl+E")), this,
                    &MainWindow::exportExplanation);
    file->addAction(tr("Export &figure..."), QKeySequence(tr("Ctrl+Shift+E")), this,
                    &MainWindow::exportFigure);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    QMenu *view = menuBar()->addMenu(tr("&View"));
    for (auto *d : findChildren<QDockWidget *>())
        view->addAction(d->toggleViewAction());
    view->addAction(tr("&Fit image"), QKeySequence(tr("Ctrl+0")), this,
                    [this] { m_explain->heatmap()->fitToWindow(); });
    QMenu *explain = menuBar()->addMenu(tr("&Explain"));
    explain->addAction(tr("&Recompute"), QKeySequence::Refresh, m_session, &Session::recompute);
    explain->addAction(tr("&Cancel"), QKeySequence(Qt::Key_Escape), m_runner,
                       &JobRunner::cancelAll);
    explain->addAction(tr("&Predict all images"), QKeySequence(tr("Ctrl+P")), m_session,
                       &Session::predictAll);
    explain->addSeparator();
    m_threadsMenu = new ThreadsMenu(this);
    connect(m_threadsMenu, &ThreadsMenu::message, this, &MainWindow::logMessage);
    explain->addMenu(m_threadsMenu);
    auto *cacheMenu = new CacheMenu(m_session->cacheBudget(), this);
    connect(cacheMenu, &CacheMenu::message, this, &MainWindow::logMessage);
    explain->addMenu(cacheMenu);
    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Heatlens"), this, [this] {
        QMessageBox::about(this, tr("About Heatlens"),
                           tr("Heatlens %1: why did the classifier decide?\n"
                              "Saliency maps for TorchScript image classifiers.")
                               .arg(QApplication::applicationVersion()));
    });
}

void MainWindow::buildStatusBar()
{
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1000);
    m_progress->setMaximumWidth(260);
    m_progress->setVisible(false);
    m_status = new QLabel(this);
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setVisible(false);
    statusBar()->addWidget(m_progress);
    statusBar()->addWidget(m_status, 1);
    statusBar()->addPermanentWidget(m_cancel);
    connect(m_cancel, &QPushButton::clicked, m_runner, &JobRunner::cancelAll);
    connect(m_runner, &JobRunner::busyChanged, this, [this](bool busy) {
        m_progress->setVisible(busy);
        m_cancel->setVisible(busy);
        m_progress->setValue(0);
        if (!busy)
            m_status->setText(tr("Ready"));
    });
    connect(m_runner, &JobRunner::progress, this,
            [this](const QString &what, double fraction, const QString &message) {
                m_progress->setValue(int(fraction * 1000));
                m_status->setText(message.isEmpty() ? what : what + QStringLiteral(": ") + message);
            });
    connect(m_runner, &JobRunner::cancelled, this,
            [this](const QString &what) { logMessage(tr("Cancelled: %1").arg(what)); });
}

void MainWindow::openPath(const QString &path)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("pt") || suffix == QLatin1String("pth") ||
        suffix == QLatin1String("torchscript") || !ensembleManifestPath(path.toStdString()).empty())
        m_session->openModel(path);
    else
        m_session->openDataset(path);
}

void MainWindow::openModelDialog()
{
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open TorchScript model"), QString(),
        tr("TorchScript models and ensembles (*.pt *.pth *.torchscript ensemble.json);;"
           "All files (*)"));
    if (!path.isEmpty())
        m_session->openModel(path);
}

void MainWindow::openDatasetDialog()
{
    const QString path = QFileDialog::getExistingDirectory(
        this, tr("Open dataset folder (image folder or IDX files)"));
    if (!path.isEmpty())
        m_session->openDataset(path);
}

void MainWindow::fillDemoMenu()
{
    m_demoMenu->clear();
    for (const auto &entry : zooEntries()) {
        const QString name = QString::fromStdString(entry.name);
        QString text = QString::fromStdString(entry.displayName);
        if (!entry.available)
            text += tr(" (not trained)");
        auto *action = m_demoMenu->addAction(text, this, [this, name] { openDemo(name); });
        action->setObjectName(QStringLiteral("demo:") + name);
        action->setToolTip(entry.available
                               ? QString::fromStdString(entry.path)
                               : tr("Run \"heatlens-cli zoo\" (or ./setup.sh run) to train it"));
        if (entry.name == "demo-cnn")
            action->setShortcut(QKeySequence(tr("Ctrl+Shift+D")));
    }
    m_demoMenu->setToolTipsVisible(true);
}

void MainWindow::openDemo(const QString &name)
{
    const std::string model = demoModelPath(name.toStdString());
    if (!std::filesystem::exists(model)) {
        showError(tr("The demo model %1 is not trained yet (%2). Run \"heatlens-cli zoo\" or the "
                     "first command of the README.")
                      .arg(name, QString::fromStdString(model)));
        return;
    }
    m_session->openModel(QString::fromStdString(model));
    const QString data = QString::fromStdString(demoDatasetPath());
    if (!m_session->dataset() || m_session->dataset()->source() != data.toStdString())
        m_session->openDataset(data);
}

void MainWindow::exportExplanation()
{
    const auto &outcome = m_session->outcome();
    if (!outcome) {
        showError(tr("Nothing to export yet: pick an image and wait for its explanation."));
        return;
    }
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export to folder"));
    if (!dir.isEmpty())
        exportExplanationTo(dir);
}

std::string MainWindow::currentFigureKind() const
{
    const auto *tabs = qobject_cast<const QTabWidget *>(centralWidget());
    return figureKindOfTab(tabs ? tabs->currentIndex() : 0);
}

void MainWindow::exportFigure()
{
    const std::string kind = currentFigureKind();
    if (const QString why = figureNotReady(*this, kind); !why.isEmpty()) {
        showError(why);
        return;
    }
    const QString stem =
        m_session->outcome()
            ? QString::fromStdString(safeStem(m_session->sampleId().toStdString()) + "-" + kind)
            : QString::fromStdString(kind);
    // Not modal: a dialog never blocks the event loop.
    auto *dialog = new FigureDialog(QString::fromStdString(kind), stem, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog, kind] {
        exportFigureTo(dialog->folder(), dialog->stem(), dialog->request(), kind);
    });
    dialog->open();
}

bool MainWindow::exportFigureTo(const QString &dir, const QString &stem,
                                const FigureRequest &request, const std::string &kind)
{
    const std::string k = kind.empty() ? currentFigureKind() : kind;
    QString why;
    const auto figure = windowFigure(*this, k, request.colours, &why);
    if (!figure) {
        showError(why);
        return false;
    }
    if (stem.isEmpty()) {
        showError(tr("The figure needs a file name."));
        return false;
    }
    try {
        const auto paths = saveFigure(*figure, request.style, request.formats, dir.toStdString(),
                                      stem.toStdString(), request.overwrite);
        for (const auto &p : paths)
            logMessage(tr("Exported %1").arg(QString::fromStdString(p)));
        return true;
    } catch (const std::exception &e) {
        showError(tr("Figure export failed:\n%1").arg(QString::fromUtf8(e.what())));
        return false;
    }
}

bool MainWindow::exportExplanationTo(const QString &dir)
{
    const auto &outcome = m_session->outcome();
    if (!outcome) {
        showError(tr("Nothing to export yet: pick an image and wait for its explanation."));
        return false;
    }
    try {
        const std::string stem =
            safeStem(m_session->sampleId().toStdString()) + "-" + outcome->explanation.methodId;
        auto files = heatlens::exportExplanation(
            *m_session->model(), m_session->image(), m_session->sampleId().toStdString(), *outcome,
            {{"method", outcome->explanation.seconds}}, dir.toStdString(), stem, ExportOptions());
        logMessage(tr("Exported %1").arg(QString::fromStdString(files.overlayPng)));
        return true;
    } catch (const std::exception &e) {
        showError(tr("Export failed:\n%1").arg(QString::fromUtf8(e.what())));
        return false;
    }
}

void MainWindow::showError(const QString &message)
{
    logWarning(message);
    if (m_errorBox) { // one dialog at a time: the latest message, the rest are in the log
        m_errorBox->setText(message);
        return;
    }
    // Non-modal: a dialog must never block the event loop (or an offscreen test).
    m_errorBox =
        new QMessageBox(QMessageBox::Warning, tr("Heatlens"), message, QMessageBox::Ok, this);
    m_errorBox->setAttribute(Qt::WA_DeleteOnClose);
    m_errorBox->open();
}

void MainWindow::logMessage(const QString &message)
{
    m_log->appendPlainText(QTime::currentTime().toString(QStringLiteral("HH:mm:ss ")) + message);
}

namespace {

QString tabName(const QTabWidget *tabs, int i)
{
    return tabs->tabText(i).remove(QLatin1Char('&')).toLower();
}

} // namespace

Workspace MainWindow::currentWorkspace() const
{
    Workspace w;
    if (const auto &model = m_session->model())
        w.model = QString::fromStdString(model->path());
    if (const auto &dataset = m_session->dataset())
        w.dataset = QString::fromStdString(dataset->source());
    w.index = m_session->currentIndex();
    w.method = m_session->methodId();
    const Params params = m_session->params();
    for (const auto &[name, value] : params.values())
        w.params[name] = paramValueText(value);
    w.target = m_session->target();
    if (const auto *tabs = qobject_cast<const QTabWidget *>(centralWidget()))
        w.tab = tabName(tabs, tabs->currentIndex());
    const auto models = m_compareDocument->models();
    for (size_t row = 1; row < models.size(); ++row)
        w.compareModels << QString::fromStdString(models[row]->path());
    w.compareMethods = m_compareDocument->methods();
    for (const auto &id : m_curvesDocument->compared())
        w.curvesCompared << QString::fromStdString(id);
    for (const auto &[id, params] : m_curvesDocument->pinnedMethods()) {
        std::map<std::string, std::string> values;
        for (const auto &[name, value] : params.values())
            values[name] = paramValueText(value);
        w.curvesPinned.push_back({QString::fromStdString(id), values});
    }
    w.curvesMode = m_curves->modeBox()->currentData().toString();
    w.curvesOrder = m_curves->orderBox()->currentData().toString();
    w.curvesBaseline = m_curves->baselineBox()->currentData().toString();
    w.curvesSteps = m_curves->stepsBox()->value();
    w.curvesCells =
        m_curves->featuresBox()->currentData().toInt() == 1 ? m_curves->cellsBox()->value() : 0;
    w.curvesLogit = m_curves->logitBox()->isChecked();
    w.sanityMode = m_sanity->modeBox()->currentData().toString();
    w.sanityThreshold = m_sanity->thresholdBox()->value();
    const GroupingOptions &grouping = m_groupsDocument->grouping();
    w.grouping = grouping.method == "grid" // grid:N is N x N cells
                     ? QStringLiteral("grid:%1").arg(std::lround(std::sqrt(grouping.groups)))
                     : QString::fromStdString(grouping.canonical());
    const EstimateOptions &e = m_groupsDocument->estimate();
    w.estimator = QString::fromStdString(e.estimator);
    w.interactionIndex = QString::fromStdString(e.index);
    w.budget = e.budget;
    w.adjacentOnly = e.adjacentOnly;
    w.masker = QString::fromStdString(m_groupsDocument->masker());
    w.uncertaintySource = QString::fromStdString(m_uncertaintyDocument->sourceId());
    w.uncertaintySamples = m_uncertaintyDocument->options().maxSamples;
    return w;
}

bool MainWindow::saveWorkspace(const QString &path)
{
    try {
        writeWorkspace(path, currentWorkspace());
    } catch (const std::exception &e) {
        showError(tr("Cannot save the workspace:\n%1").arg(QString::fromUtf8(e.what())));
        return false;
    }
    remember(QStringLiteral("recent/workspaces"), path);
    logMessage(tr("Saved workspace %1").arg(path));
    return true;
}

void MainWindow::openWorkspace(const QString &path)
{
    Workspace w;
    try {
        w = readWorkspace(path);
    } catch (const std::exception &e) {
        showError(tr("Cannot open the workspace:\n%1").arg(QString::fromUtf8(e.what())));
        return;
    }
    remember(QStringLiteral("recent/workspaces"), path);
    const QStringList missing = w.missingPaths();
    if (!missing.isEmpty())
        showError(tr("The workspace %1 names what no longer exists (the rest is restored):\n%2")
                      .arg(path, missing.join(QLatin1Char('\n'))));
    QStringList problems;
    try {
        const Method &method = MethodRegistry::instance().get(w.method.toStdString());
        m_session->setMethod(w.method);
        m_session->setParams(resolveParams(method.params(), w.params, method.id()));
    } catch (const std::exception &e) {
        problems << QString::fromUtf8(e.what());
    }
    // The image and the class once the dataset (and the model) are open: the first explanation
    // after opening is of the workspace's image; its class follows.
    if (!w.dataset.isEmpty() && !missing.contains(w.dataset)) {
        auto *once = new QObject(this);
        connect(m_session, &Session::datasetChanged, once, [this, once, index = w.index] {
            m_session->setCurrentIndex(index);
            once->deleteLater();
        });
        m_session->openDataset(w.dataset);
    }
    if (w.target >= 0) {
        auto *once = new QObject(this);
        connect(m_session, &Session::explanationReady, once, [this, once, w] {
            if (m_session->currentIndex() != w.index && w.index >= 0)
                return; // an explanation of another image, before the workspace's
            if (m_session->model() && w.target < m_session->model()->numClasses())
                m_session->setTarget(w.target);
            once->deleteLater();
        });
    }
    if (!w.model.isEmpty() && !missing.contains(w.model))
        m_session->openModel(w.model);
    // The Compare tab: the workspace's models after the open one, and its methods.
    for (int row = int(m_compareDocument->models().size()) - 1; row > 0; --row)
        m_compareDocument->removeModel(row);
    for (const QString &model : w.compareModels)
        if (!missing.contains(model))
            m_compareDocument->addModelFile(model);
    if (!w.compareMethods.isEmpty())
        m_compareDocument->setMethods(w.compareMethods);
    const std::set<std::string> compared = m_curvesDocument->compared(); // a copy: it changes
    for (const auto &id : compared)
        if (!w.curvesCompared.contains(QString::fromStdString(id)))
            m_curvesDocument->setCompared(id, false);
    for (const QString &id : w.curvesCompared) {
        if (MethodRegistry::instance().find(id.toStdString()))
            m_curvesDocument->setCompared(id.toStdString(), true);
        else
            problems << tr("unknown method \"%1\" on the Curves tab").arg(id);
    }
    // The Curves tab's settings and pins, the Sanity tab's options: a value a box does not
    // offer is named.
    const auto choose = [&](QComboBox *box, const QVariant &value, const QString &what) {
        if (const int at = box->findData(value); at >= 0)
            box->setCurrentIndex(at);
        else
            problems << tr("unknown %1 \"%2\"").arg(what, value.toString());
    };
    choose(m_curves->modeBox(), w.curvesMode, tr("curve mode"));
    choose(m_curves->orderBox(), w.curvesOrder, tr("curve order"));
    choose(m_curves->baselineBox(), w.curvesBaseline, tr("curve baseline"));
    m_curves->stepsBox()->setValue(w.curvesSteps);
    if (w.curvesCells > 0)
        m_curves->cellsBox()->setValue(w.curvesCells);
    choose(m_curves->featuresBox(), w.curvesCells > 0 ? 1 : 0, tr("curve features"));
    m_curves->logitBox()->setChecked(w.curvesLogit);
    m_curvesDocument->clearPins();
    for (const auto &[id, values] : w.curvesPinned) {
        try {
            const Method &method = MethodRegistry::instance().get(id.toStdString());
            m_curvesDocument->pinMethod(method.id(),
                                        resolveParams(method.params(), values, method.id()));
        } catch (const std::exception &e) {
            problems << tr("pinned curve %1: %2").arg(id, QString::fromUtf8(e.what()));
        }
    }
    choose(m_sanity->modeBox(), w.sanityMode, tr("sanity mode"));
    m_sanity->thresholdBox()->setValue(w.sanityThreshold);
    try {
        EstimateOptions estimate;
        estimate.estimator = w.estimator.toStdString();
        estimate.index = w.interactionIndex.toStdString();
        estimate.budget = w.budget;
        estimate.adjacentOnly = w.adjacentOnly;
        estimate.validate();
        m_groups->restore(parseGrouping(w.grouping.toStdString()), estimate,
                          w.masker.toStdString());
    } catch (const std::exception &e) {
        problems << QString::fromUtf8(e.what());
    }
    if (const int at = m_uncertainty->sourceBox()->findData(w.uncertaintySource); at >= 0)
        m_uncertainty->sourceBox()->setCurrentIndex(at);
    else
        problems << tr("unknown uncertainty source \"%1\"").arg(w.uncertaintySource);
    m_uncertainty->samplesBox()->setValue(w.uncertaintySamples);
    if (auto *tabs = qobject_cast<QTabWidget *>(centralWidget()))
        for (int i = 0; i < tabs->count(); ++i)
            if (tabName(tabs, i) == w.tab)
                tabs->setCurrentIndex(i);
    if (!problems.isEmpty())
        showError(tr("Parts of the workspace %1 could not be restored:\n%2")
                      .arg(path, problems.join(QLatin1Char('\n'))));
    logMessage(tr("Opened workspace %1").arg(path));
}

void MainWindow::remember(const QString &list, const QString &path)
{
    QSettings settings;
    QStringList recent = settings.value(list).toStringList();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    recent.removeAll(absolute);
    recent.prepend(absolute);
    while (recent.size() > 8)
        recent.removeLast();
    settings.setValue(list, recent);
}

void MainWindow::fillRecentMenu()
{
    m_recentMenu->clear();
    QSettings settings;
    bool any = false;
    const std::vector<std::pair<QString, QString>> lists = {
        {QStringLiteral("recent/workspaces"), tr("Workspaces")},
        {QStringLiteral("recent/models"), tr("Models")},
        {QStringLiteral("recent/datasets"), tr("Datasets")}};
    for (const auto &[list, title] : lists) {
        const QStringList paths = settings.value(list).toStringList();
        if (paths.isEmpty())
            continue;
        m_recentMenu->addSection(title);
        for (const QString &path : paths)
            m_recentMenu->addAction(path, this, [this, list = list, path] {
                if (!QFileInfo::exists(path)) {
                    showError(tr("%1 no longer exists; it is taken off the list.").arg(path));
                    QSettings s;
                    QStringList kept = s.value(list).toStringList();
                    kept.removeAll(path);
                    s.setValue(list, kept);
                    return;
                }
                if (list.endsWith(QLatin1String("workspaces")))
                    openWorkspace(path);
                else if (list.endsWith(QLatin1String("models")))
                    m_session->openModel(path);
                else
                    m_session->openDataset(path);
            });
        any = true;
    }
    if (!any)
        m_recentMenu->addAction(tr("(nothing yet)"))->setEnabled(false);
}

void MainWindow::logWarning(const QString &message)
{
    logMessage(message);
    m_logDock->show();
}

void MainWindow::updateTitle()
{
    QStringList parts{QStringLiteral("Heatlens")};
    if (m_session->model())
        parts << QString::fromStdString(m_session->model()->displayName());
    if (m_session->dataset())
        parts << QString::fromStdString(m_session->dataset()->source());
    setWindowTitle(parts.join(QStringLiteral(" \u2014 ")));
}

void MainWindow::restoreLayout()
{
    QSettings settings;
    const QByteArray geometry = settings.value(QStringLiteral("window/geometry")).toByteArray();
    if (geometry.isEmpty() || !restoreGeometry(geometry)) {
        // First start: most of the screen the window opens on (the default size of a window
        // with these docks is 1176 x 680 whatever the screen), centred.
        if (const QScreen *s = screen()) {
            const QRect available = s->availableGeometry();
            resize(available.size() * 0.9);
            move(available.center() - QPoint(width() / 2, height() / 2));
        }
    }
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    // The log starts collapsed (View > Log opens it): it opens by itself when a warning or an
    // error arrives.
    m_logDock->hide();
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    m_runner->cancelAll();
    event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    if (event->mimeData()->hasUrls())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent *event)
{
    static const QStringList imageSuffixes{"png", "jpg", "jpeg", "bmp", "tif", "tiff"};
    std::vector<std::string> images;
    for (const QUrl &url : event->mimeData()->urls()) {
        if (!url.isLocalFile())
            continue;
        const QString path = url.toLocalFile();
        if (imageSuffixes.contains(QFileInfo(path).suffix().toLower()))
            images.push_back(path.toStdString());
        else
            openPath(path);
    }
    if (images.size() == 1)
        openPath(QString::fromStdString(images.front()));
    else if (images.size() > 1) // several images: one dataset of just those files
        openImageList(images);
}

void MainWindow::openImageList(const std::vector<std::string> &files)
{
    try {
        m_session->setDataset(openImageFiles(files));
    } catch (const std::exception &e) {
        showError(QString::fromUtf8(e.what()));
    }
}

} // namespace heatlens::ui
