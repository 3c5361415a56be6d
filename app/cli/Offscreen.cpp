#include "Offscreen.h"

#include <QApplication>

#include <iostream>

namespace heatlens::cli {

void drawOffscreen(const std::function<void()> &draw)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    int argc = 1;
    char name[] = "heatlens-cli";
    char *argv[] = {name, nullptr};
    qInstallMessageHandler([](QtMsgType type, const QMessageLogContext &, const QString &text) {
        if (!text.startsWith(QLatin1String("QStandardPaths:")))
            std::cerr << (type == QtWarningMsg ? "warning: " : "") << text.toStdString() << "\n";
    });
    QApplication app(argc, argv);
    draw();
}

} // namespace heatlens::cli
