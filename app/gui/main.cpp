#include "ui/CompareSession.h"
#include "ui/MainWindow.h"
#include "ui/Session.h"

#include "core/model/TorchRuntime.h"
#include "core/model/Zoo.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QFileInfo>
#include <QTabWidget>
#include <QTimer>

// Called by the heatlens launcher (app/launch), which sets the OpenMP environment first.
extern "C" __attribute__((visibility("default"))) int heatlens_main(int argc, char **argv)
{
    heatlens::configureProcessForTensors();
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("Heatlens"));
    QApplication::setOrganizationName(QStringLiteral("Heatlens"));
    QApplication::setApplicationVersion(QStringLiteral(HEATLENS_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Explanation viewer for image classifiers"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOption({QStringLiteral("model"), QStringLiteral("TorchScript model to open."),
                      QStringLiteral("file")});
    parser.addOption({QStringLiteral("dataset"),
                      QStringLiteral("Dataset to open (image folder, IDX files, list file)."),
                      QStringLiteral("path")});
    parser.addOption(
        {QStringLiteral("index"), QStringLiteral("Image to show first."), QStringLiteral("n")});
    parser.addOption({QStringLiteral("method"), QStringLiteral("Method id, e.g. grad-cam."),
                      QStringLiteral("id")});
    parser.addOption({QStringLiteral("demo"), QStringLiteral("Open the demo CNN and data.")});
    parser.addOption({QStringLiteral("demo-model"),
                      QStringLiteral("Open this demo model (demo-vit, demo-groups, "
                                     "demo-cnn-ensemble, ...; see heatlens-cli zoo --list) "
                                     "and the demo data."),
                      QStringLiteral("name")});
    parser.addOption(
        {QStringLiteral("tab"),
         QStringLiteral(
             "Tab to show first: explain, compare, curves, sanity, groups or uncertainty."),
         QStringLiteral("name")});
    parser.addOption({QStringLiteral("compare"),
                      QStringLiteral("Models to compare with the open one on the Compare tab: "
                                     "demo model names or TorchScript files, comma-separated."),
                      QStringLiteral("models")});
    parser.addOption({QStringLiteral("compare-methods"),
                      QStringLiteral("Methods (columns) of the Compare tab, comma-separated ids "
                                     "(default saliency,integrated-gradients,grad-cam)."),
                      QStringLiteral("ids")});
    parser.addPositionalArgument(QStringLiteral("paths"), QStringLiteral("Models or datasets."));
    parser.process(app);

    heatlens::ui::MainWindow window;
    auto *session = window.session();
    if (parser.isSet(QStringLiteral("method"))) {
        try {
            session->setMethod(parser.value(QStringLiteral("method")));
        } catch (const std::exception &e) {
            window.showError(QString::fromUtf8(e.what()));
        }
    }
    if (parser.isSet(QStringLiteral("model")))
        session->openModel(parser.value(QStringLiteral("model")));
    if (parser.isSet(QStringLiteral("dataset")))
        session->openDataset(parser.value(QStringLiteral("dataset")));
    for (const QString &path : parser.positionalArguments())
        window.openPath(path);
    if (parser.isSet(QStringLiteral("demo")) || parser.isSet(QStringLiteral("demo-model"))) {
        const QString name = parser.value(QStringLiteral("demo-model"));
        QMetaObject::invokeMethod(
            &window,
            [&window, name] {
                window.openDemo(name.isEmpty() ? QStringLiteral("demo-cnn") : name);
            },
            Qt::QueuedConnection);
    }
    if (parser.isSet(QStringLiteral("compare-methods")))
        window.compareSession()->setMethods(
            parser.value(QStringLiteral("compare-methods")).split(QLatin1Char(',')));
    for (const QString &item :
         parser.value(QStringLiteral("compare")).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        // A demo model's name, or a file.
        const std::string demo = heatlens::demoModelPath(item.toStdString());
        const bool isDemo =
            !item.contains(QLatin1Char('/')) && QFileInfo::exists(QString::fromStdString(demo));
        window.compareSession()->addModelFile(isDemo ? QString::fromStdString(demo) : item);
    }
    if (parser.isSet(QStringLiteral("index"))) {
        const int index = parser.value(QStringLiteral("index")).toInt();
        QObject::connect(session, &heatlens::ui::Session::datasetChanged, session,
                         [session, index] { session->setCurrentIndex(index); });
    }
    if (parser.isSet(QStringLiteral("tab"))) {
        const QString wanted = parser.value(QStringLiteral("tab"));
        auto *tabs = qobject_cast<QTabWidget *>(window.centralWidget());
        QStringList names;
        int found = -1;
        for (int i = 0; tabs && i < tabs->count(); ++i) {
            const QString name = tabs->tabText(i).remove(QLatin1Char('&'));
            names << name.toLower();
            if (name.compare(wanted, Qt::CaseInsensitive) == 0)
                found = i;
        }
        if (found >= 0)
            tabs->setCurrentIndex(found);
        else
            window.showError(QStringLiteral("--tab: there is no tab \"%1\" (tabs: %2)")
                                 .arg(wanted, names.join(QStringLiteral(", "))));
    }
    window.show(); // first start: most of the screen; later: the size the window was closed at
    return app.exec();
}
