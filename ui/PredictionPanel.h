#pragma once

#include <QWidget>

class QLabel;
class QPushButton;
class QTreeWidget;

namespace heatlens::ui {

class Session;

// Top-5 classes with probabilities for the current image; clicking one explains that class.
class PredictionPanel : public QWidget
{
    Q_OBJECT

public:
    explicit PredictionPanel(Session *session, QWidget *parent = nullptr);

    QTreeWidget *list() const { return m_list; }

private:
    void refresh();

    Session *m_session;
    QTreeWidget *m_list;
    QLabel *m_target;
    QPushButton *m_reset;
};

} // namespace heatlens::ui
