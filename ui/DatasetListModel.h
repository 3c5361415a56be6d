#pragma once

#include "core/data/Dataset.h"

#include <QAbstractListModel>
#include <QCache>
#include <QHash>
#include <QImage>
#include <QSet>

#include <memory>
#include <vector>

namespace heatlens::ui {

class Session;

// The samples of the session's dataset for a list view: thumbnails decoded lazily on a thread
// pool (never on the GUI thread), true label and, once known, the predicted label.
//
// The one documented exception to "long work goes through the JobRunner": thumbnails are many
// small decodes (no LibTorch) that must appear while an explanation occupies the runner's one
// compute lane, and must not supersede each other as keyed jobs of one slot do. They have their
// own cache, bounded by bytes (kThumbnailCacheKB, 64 MB) like the viewer's result cache.
class DatasetListModel : public QAbstractListModel
{
    Q_OBJECT

public:
    // ProblemRole: what went wrong decoding the image (unreadable, truncated), once its
    // thumbnail was made; empty otherwise.
    enum Role { LabelRole = Qt::UserRole + 1, PredictedRole, IdRole, ProblemRole };

    explicit DatasetListModel(Session *session, QObject *parent = nullptr);
    ~DatasetListModel() override;

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QString labelName(int label) const;

private:
    struct ThumbnailInbox;
    // Runs on the GUI thread: files the thumbnails the pool finished (ThumbnailInbox).
    Q_INVOKABLE void takeThumbnails();
    void reset();
    QImage thumbnail(int row) const;
    void requestThumbnail(int row) const;

    Session *m_session;
    std::shared_ptr<const Dataset> m_dataset;
    mutable QCache<int, QImage> m_thumbnails;
    mutable QSet<int> m_loading;
    QHash<int, QString> m_problems;
    QImage m_placeholder;
    QImage m_broken;
    int m_generation = 0;
    // Shared with the pool's tasks, which may outlive the model.
    std::shared_ptr<ThumbnailInbox> m_inbox;
};

} // namespace heatlens::ui
