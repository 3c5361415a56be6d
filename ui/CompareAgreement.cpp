#include "ui/CompareView.h"

#include "core/model/Preprocess.h"
#include "ui/CompareNames.h"
#include "ui/CompareWidgets.h"
#include "ui/Session.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QLabel>
#include <QMenu>
#include <QSpinBox>

#include <cmath>

// The Compare tab's agreement: matrix, selection, consensus cells' menu, export.

namespace heatlens::ui {

using compare::methodName;
using compare::qs;
using compare::shortName;

namespace compare {

// A name short enough for the matrix's labels: "Integrated Gradients" -> "IG",
// "CNN (saliency-guided)" -> "CNN sg"; names of up to 12 characters stay.
static QString initials(const QString &text)
{
    QString out;
    for (const QString &word :
         text.split(QRegularExpression(QStringLiteral("[\\s-]+")), Qt::SkipEmptyParts))
        if (word.front().isLetter()) // "Chefer 2021b" -> "c", not "c2"
            out += word.front();
    return out;
}

QString shortName(const QString &name)
{
    if (name.size() <= 12)
        return name;
    const int open = name.indexOf(QLatin1Char('('));
    const QString head = (open > 0 ? name.left(open) : name).trimmed();
    const QString inner =
        open > 0 ? name.mid(open + 1).section(QLatin1Char(')'), 0, 0).trimmed() : QString();
    QString out = head.size() <= 12 ? head : initials(head);
    if (!inner.isEmpty())
        out += QLatin1Char(' ') + initials(inner).toLower();
    return out;
}

} // namespace compare

QString CompareView::cellName(int index) const
{
    const int columns = m_grid->columnCount();
    return qs(m_document->models()[size_t(index / columns)]->displayName()) +
           QStringLiteral(" / ") + methodName(m_document->methods()[index % columns].toStdString());
}

QString CompareView::agreementText(int a, int b) const
{
    const auto agreement = m_document->agreementOf(a, b);
    if (!agreement)
        return {};
    QStringList parts;
    for (const auto &metric : agreementMetrics()) {
        const double v = agreement->value(metric);
        parts << QStringLiteral("%1 %2").arg(
            qs(agreementMetricLabel(metric, m_topK->value() / 100.0)),
            std::isfinite(v) ? QString::number(v, 'f', 3) : QStringLiteral("-"));
    }
    return tr("<b>%1</b> vs <b>%2</b> (%3):<br>%4")
        .arg(cellName(a).toHtmlEscaped(), cellName(b).toHtmlEscaped(),
             m_absolute->isChecked() ? tr("|maps|") : tr("signed maps"),
             parts.join(QStringLiteral(", ")));
}

void CompareView::updateMatrix()
{
    if (!m_document->isComplete())
        return;
    const int n = m_grid->rowCount() * m_grid->columnCount();
    AgreementMatrix m;
    // Short labels (the tooltips give the full names): without the prefix every model shares
    // ("Demo: "), long names by their initials.
    QStringList models;
    for (const ModelPtr &model : m_document->models())
        models << qs(model->displayName());
    QString prefix = models.value(0);
    for (const QString &name : models)
        while (!prefix.isEmpty() && !name.startsWith(prefix))
            prefix.chop(1);
    if (models.size() < 2)
        prefix.clear();
    const int columns = m_grid->columnCount();
    for (int i = 0; i < n; ++i)
        m.labels << shortName(models[i / columns].mid(prefix.size()).trimmed()) +
                        QStringLiteral(" / ") +
                        shortName(methodName(m_document->methods()[i % columns].toStdString()));
    const std::string metric = m_metric->currentData().toString().toStdString();
    m.values.assign(size_t(n * n), 1.0);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j)
            if (i != j)
                m.values[size_t(i * n + j)] = m_document->agreementOf(i, j)->value(metric);
    m.metric = qs(agreementMetricLabel(metric, m_topK->value() / 100.0));
    m.title = tr("%1 of %2, %3")
                  .arg(m.metric, m_absolute->isChecked() ? tr("|maps|") : tr("signed maps"),
                       m_session->sampleId());
    if (m_selected.size() == 2)
        m.highlighted = {m_selected[0], m_selected[1]};
    m_matrix->setMatrix(std::move(m));
}

void CompareView::selectCells(int first, int second)
{
    m_selected.clear();
    const int n = m_grid->rowCount() * m_grid->columnCount();
    for (int i : {first, second})
        if (i >= 0 && i < n)
            m_selected.push_back(i);
    updateSelection();
}

void CompareView::onCellClicked(CompareCell *cell, Qt::KeyboardModifiers modifiers)
{
    if (cell->row() >= m_grid->rowCount())
        return; // consensus cells are not in the matrix
    const int index = cell->row() * m_grid->columnCount() + cell->column();
    if (modifiers & (Qt::ControlModifier | Qt::ShiftModifier)) {
        if (auto it = std::find(m_selected.begin(), m_selected.end(), index);
            it != m_selected.end())
            m_selected.erase(it);
        else
            m_selected.push_back(index);
        if (m_selected.size() > 2)
            m_selected.erase(m_selected.begin());
    } else {
        m_selected =
            m_selected == std::vector<int>{index} ? std::vector<int>{} : std::vector<int>{index};
    }
    updateSelection();
}

void CompareView::updateSelection()
{
    const int columns = m_grid->columnCount();
    for (CompareCell *cell : m_grid->cells()) {
        const int index = cell->row() * columns + cell->column();
        cell->setSelected(std::find(m_selected.begin(), m_selected.end(), index) !=
                          m_selected.end());
        cell->view()->setToolTip(QString());
    }
    QString text = tr("Click a cell and Ctrl+click another to compare them; hover the matrix "
                      "for every metric; right-click a consensus cell for its curves.");
    if (m_selected.size() == 2 && m_document->agreementOf(m_selected[0], m_selected[1])) {
        text = agreementText(m_selected[0], m_selected[1]);
        for (int i : m_selected)
            m_grid->cells()[size_t(i)]->view()->setToolTip(text);
    }
    m_selection->setText(text);
    updateMatrix();
}

void CompareView::onCellMenu(CompareCell *cell, const QPoint &pos)
{
    QMenu menu(this);
    menu.addAction(tr("Enlarge"), this, [this, cell] { m_grid->enlarge(cell); });
    const int row = cell->row();
    if (row < m_grid->rowCount()) {
        if (row > 0)
            menu.addAction(tr("Remove %1 from the comparison")
                               .arg(qs(m_document->models()[size_t(row)]->displayName())),
                           this, [this, row] { m_document->removeModel(row); });
        const QString id = m_document->methods().value(cell->column());
        menu.addAction(tr("Remove %1").arg(methodName(id.toStdString())), this, [this, id] {
            QStringList ids = m_document->methods();
            ids.removeAll(id);
            m_document->setMethods(ids);
        });
    } else if (!cell->view()->map().empty() && m_session->model()) {
        const bool disagreement = row == m_grid->rowCount() + 1;
        const QString name =
            (disagreement ? tr("Disagreement of %1") : tr("Consensus of %1"))
                .arg(cell->column() < m_grid->columnCount()
                         ? methodName(m_document->methods()[cell->column()].toStdString())
                         : tr("all cells"));
        menu.addAction(tr("Deletion and insertion curves (Curves tab)"), this,
                       [this, name, map = cell->view()->map()] {
                           InputGeometry geometry;
                           m_session->model()->preprocess(m_session->image(), &geometry);
                           Q_EMIT curvesRequested(name, frameToInput(map, geometry));
                       });
    }
    menu.exec(pos);
}

cv::Mat CompareView::consensusMap(int column, bool disagreement) const
{
    const Consensus *c = m_document->consensus(column);
    if (!c)
        return {};
    return disagreement ? c->spread : c->mean;
}

void CompareView::exportMatrix(const QString &path) const
{
    saveAgreementMatrix(m_matrix->matrix(), path);
}

void CompareView::exportDialog()
{
    if (!m_document->isComplete()) {
        Q_EMIT errorOccurred(tr("Nothing to export yet: wait until every cell is computed."));
        return;
    }
    const QString path = QFileDialog::getSaveFileName(this, tr("Export the agreement matrix"),
                                                      QStringLiteral("agreement.png"),
                                                      tr("PNG image (*.png);;PDF (*.pdf)"));
    if (path.isEmpty())
        return;
    try {
        exportMatrix(path);
        Q_EMIT message(tr("Exported %1").arg(path));
    } catch (const std::exception &e) {
        Q_EMIT errorOccurred(tr("Export failed:\n%1").arg(QString::fromUtf8(e.what())));
    }
}

} // namespace heatlens::ui
