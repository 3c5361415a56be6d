#include "ui/ThreadsMenu.h"

#include "core/model/Threads.h"

#include <QActionGroup>
#include <QSettings>

#include <algorithm>

namespace heatlens::ui {

namespace {

const QString kKey = QStringLiteral("compute/threads");

int savedThreads()
{
    return std::max(0, QSettings().value(kKey, 0).toInt());
}

QString describe(const ThreadSettings &settings)
{
    return QObject::tr("Compute: %1; %2")
        .arg(QString::fromStdString(settings.describe()),
             QString::fromStdString(cpuBudget().describe()));
}

} // namespace

ThreadsMenu::ThreadsMenu(QWidget *parent)
    : QMenu(tr("Compute &threads"), parent)
{
    connect(this, &QMenu::aboutToShow, this, &ThreadsMenu::rebuild);
    rebuild();
}

QString ThreadsMenu::applySaved()
{
    return describe(requestThreads(savedThreads()));
}

void ThreadsMenu::choose(int threads)
{
    QSettings().setValue(kKey, std::max(0, threads));
    Q_EMIT message(describe(requestThreads(threads)));
    rebuild();
}

void ThreadsMenu::rebuild()
{
    clear();
    auto *group = new QActionGroup(this);
    const CpuBudget budget = cpuBudget();
    const int saved = savedThreads();
    auto add = [&](const QString &text, int threads) {
        QAction *action = addAction(text, this, [this, threads] { choose(threads); });
        action->setCheckable(true);
        action->setChecked(threads == saved);
        action->setData(threads);
        group->addAction(action);
    };
    add(tr("Automatic (%1, one per usable CPU)").arg(budget.usable), 0);
    addSeparator();
    const int most = std::max({budget.affinity, budget.usable, saved});
    for (int n = 1; n <= most; ++n)
        add(n == 1 ? tr("1 thread") : tr("%1 threads").arg(n), n);
}

} // namespace heatlens::ui
