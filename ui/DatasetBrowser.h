#pragma once

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QListView;
class QSortFilterProxyModel;

namespace heatlens::ui {

class DatasetListModel;
class SampleFilter;
class Session;

// Thumbnails of the dataset with filters (text, true class, correct/wrong once predicted);
// selecting one (click or arrow keys) makes it the session's current image.
class DatasetBrowser : public QWidget
{
    Q_OBJECT

public:
    explicit DatasetBrowser(Session *session, QWidget *parent = nullptr);

    QListView *view() const { return m_view; }
    int visibleCount() const;
    void selectRow(int datasetRow);

private:
    void onDatasetChanged();
    void onCurrentChanged();
    void updateCount();

    Session *m_session;
    DatasetListModel *m_model;
    SampleFilter *m_filter;
    QLineEdit *m_text;
    QComboBox *m_class;
    QComboBox *m_correct;
    QListView *m_view;
    QLabel *m_count;
};

} // namespace heatlens::ui
