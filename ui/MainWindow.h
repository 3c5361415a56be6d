#pragma once

#include "ui/FigureExport.h"
#include "ui/Workspace.h"

#include <QMainWindow>
#include <QPointer>

#include <string>
#include <vector>

class QLabel;
class QMenu;
class QMessageBox;
class QDockWidget;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace heatlens::ui {

class CompareSession;
class CompareView;
class CurvesSession;
class CurvesView;
class SanitySession;
class SanityView;
class UncertaintySession;
class GroupsSession;
class GroupsView;
class UncertaintyView;
class DatasetBrowser;
class ExplainView;
class JobRunner;
class MethodPanel;
class ModelPanel;
class PredictionPanel;
class Session;
class ThreadsMenu;

// Assembles the window: the documents (Session for the Explain tab and the root of the others,
// one per further tab), the views that draw them, docks, menus, actions, status bar. Behaviour
// lives in the documents and the views; what is here is window-level: opening files and demo
// models, exporting, the error dialog, the log, the saved layout.
class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    Session *session() const { return m_session; }
    JobRunner *runner() const { return m_runner; }
    ExplainView *explainView() const { return m_explain; }
    CompareView *compareView() const { return m_compare; }
    CompareSession *compareSession() const { return m_compareDocument; }
    CurvesView *curvesView() const { return m_curves; }
    CurvesSession *curvesSession() const { return m_curvesDocument; }
    SanityView *sanityView() const { return m_sanity; }
    SanitySession *sanitySession() const { return m_sanityDocument; }
    UncertaintyView *uncertaintyView() const { return m_uncertainty; }
    UncertaintySession *uncertaintySession() const { return m_uncertaintyDocument; }
    GroupsView *groupsView() const { return m_groups; }
    GroupsSession *groupsSession() const { return m_groupsDocument; }
    DatasetBrowser *browser() const { return m_browser; }
    MethodPanel *methodPanel() const { return m_methods; }
    PredictionPanel *predictionPanel() const { return m_prediction; }
    ModelPanel *modelPanel() const { return m_model; }
    ThreadsMenu *threadsMenu() const { return m_threadsMenu; }

    // Opens a path dropped or given on the command line: a .pt model or a dataset.
    void openPath(const QString &path);
    // Opens a model of the demo zoo ("demo-cnn", "demo-vit", ...) with the demo dataset.
    void openDemo(const QString &name = QStringLiteral("demo-cnn"));
    void openImageList(const std::vector<std::string> &files);
    // File > Export explanation... without its folder dialog: the current explanation's files
    // (those of heatlens-cli explain) in `dir`; false, with the error shown, when it cannot.
    bool exportExplanationTo(const QString &dir);
    // File > Export figure... without its dialog: the figure of the tab in view (or of `kind`,
    // one of figureKinds()) as DIR/STEM.<format>; false, with the error shown, when there is
    // nothing complete to draw or a file cannot be written.
    bool exportFigureTo(const QString &dir, const QString &stem, const FigureRequest &request,
                        const std::string &kind = {});
    std::string currentFigureKind() const; // of the tab in view
    void showError(const QString &message);
    void logMessage(const QString &message);
    // File > Save workspace / Open workspace without their dialogs. Saving returns false, with
    // the error shown, when the file cannot be written; opening restores what the file names,
    // with a message for paths that no longer exist (the rest is restored).
    Workspace currentWorkspace() const;
    bool saveWorkspace(const QString &path);
    void openWorkspace(const QString &path);
    // A message worth seeing now: logged, and the Log dock (collapsed at start) opened.
    void logWarning(const QString &message);

protected:
    void closeEvent(QCloseEvent *event) override;
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    void buildDocks();
    void buildMenus();
    void buildStatusBar();
    void openModelDialog();
    void fillDemoMenu();
    void openDatasetDialog();
    void exportExplanation();
    void exportFigure();
    void updateTitle();
    void restoreLayout();
    void fillRecentMenu();
    static void remember(const QString &list, const QString &path); // a recent-files list

    JobRunner *m_runner;
    Session *m_session;
    CompareSession *m_compareDocument;
    CurvesSession *m_curvesDocument;
    SanitySession *m_sanityDocument;
    UncertaintySession *m_uncertaintyDocument;
    GroupsSession *m_groupsDocument;
    ExplainView *m_explain;
    CompareView *m_compare;
    CurvesView *m_curves;
    SanityView *m_sanity;
    UncertaintyView *m_uncertainty;
    GroupsView *m_groups;
    DatasetBrowser *m_browser = nullptr;
    PredictionPanel *m_prediction = nullptr;
    MethodPanel *m_methods = nullptr;
    ModelPanel *m_model = nullptr;
    QMenu *m_demoMenu = nullptr;
    QMenu *m_recentMenu = nullptr;
    ThreadsMenu *m_threadsMenu = nullptr;
    QPlainTextEdit *m_log = nullptr;
    QDockWidget *m_logDock = nullptr;
    QProgressBar *m_progress = nullptr;
    QLabel *m_status = nullptr;
    QPushButton *m_cancel = nullptr;
    QPointer<QMessageBox> m_errorBox; // the open error dialog, reused so errors do not stack
};

} // namespace heatlens::ui
