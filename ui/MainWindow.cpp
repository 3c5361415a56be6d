#include "ui/MainWindow.h"

#include "core/data/Dataset.h"
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
#include <QCloseEvent>
#include <QDockWidget>
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
#include <QStatusBar>
#include <QTabWidget>
#include <QTime>

#include <filesystem>

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
    file->addSeparator();
    file->addAction(tr("&Export explanation..."), QKeySequence(tr("Ctrl+E")), this,
                    &MainWindow::exportExplanation);
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
