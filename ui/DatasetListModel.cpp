#include "ui/DatasetListModel.h"

#include "ui/HandOff.h"
#include "ui/ImageConvert.h"
#include "ui/Session.h"

#include <QPainter>
#include <QThreadPool>

#include <algorithm>
#include <functional>
#include <mutex>

#include <opencv2/imgproc.hpp>

namespace heatlens::ui {

namespace {

constexpr int kThumb = 72;

// The happens-before token of every thumbnail task (HandOff.h): a fixed address, so that the task
// names it before it reads anything it was given.
char thumbnailHandOff;

// The thumbnails' cache holds at most this many kibibytes (QCache costs), about 3,000 of the
// list's 72 x 72 colour thumbnails (more of the grey ones).
constexpr int kThumbnailCacheKB = 64 * 1024;

QImage makeThumbnail(const cv::Mat &image)
{
    QImage full = sampleToQImage(image);
    // Small images are enlarged without smoothing so that pixels stay visible.
    const auto mode = full.width() < kThumb ? Qt::FastTransformation : Qt::SmoothTransformation;
    return full.scaled(kThumb, kThumb, Qt::KeepAspectRatio, mode);
}

// A thumbnail of an image that decoded with problems (a truncated JPEG): an orange corner mark.
QImage marked(QImage thumb)
{
    thumb = thumb.convertToFormat(QImage::Format_RGB888);
    QPainter p(&thumb);
    p.setRenderHint(QPainter::Antialiasing);
    const QPointF corner[3] = {{0, 0}, {22, 0}, {0, 22}};
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(235, 140, 0));
    p.drawPolygon(corner, 3);
    p.setPen(Qt::black);
    QFont font = p.font();
    font.setBold(true);
    font.setPixelSize(11);
    p.setFont(font);
    p.drawText(QRectF(1, 0, 10, 12), Qt::AlignCenter, QStringLiteral("!"));
    return thumb;
}

QImage filled(const QColor &color, const QString &text)
{
    QImage image(kThumb, kThumb, QImage::Format_RGB888);
    image.fill(color);
    QPainter p(&image);
    p.setPen(Qt::white);
    p.drawText(image.rect(), Qt::AlignCenter, text);
    return image;
}

} // namespace

// Where the pool's tasks leave their thumbnails. The receiver is cleared under the mutex when
// the model goes, so a task never wakes a model that is being destroyed (a QPointer checked on
// the pool thread would not guarantee that), and one queued wake-up serves a whole batch.
struct DatasetListModel::ThumbnailInbox
{
    struct Thumbnail
    {
        int row = 0;
        int generation = 0;
        QImage image;
        bool ok = true;
        QString problems;
    };
    std::mutex mutex;
    QObject *receiver = nullptr;
    bool scheduled = false;
    std::vector<Thumbnail> thumbnails;

    void deliver(Thumbnail thumbnail)
    {
        std::lock_guard lock(mutex);
        thumbnails.push_back(std::move(thumbnail));
        if (receiver && !scheduled) {
            scheduled = true;
            QMetaObject::invokeMethod(receiver, "takeThumbnails", Qt::QueuedConnection);
        }
    }
};

DatasetListModel::DatasetListModel(Session *session, QObject *parent)
    : QAbstractListModel(parent)
    , m_session(session)
    , m_thumbnails(kThumbnailCacheKB)
    , m_placeholder(filled(QColor(70, 70, 70), QString()))
    , m_broken(filled(QColor(140, 40, 40), tr("unreadable")))
    , m_inbox(std::make_shared<ThumbnailInbox>())
{
    m_inbox->receiver = this;
    connect(session, &Session::datasetChanged, this, &DatasetListModel::reset);
    connect(session, &Session::modelChanged, this, &DatasetListModel::reset);
    connect(session, &Session::predictionsChanged, this, [this] {
        if (rowCount() > 0)
            Q_EMIT dataChanged(index(0), index(rowCount() - 1), {Qt::DisplayRole, PredictedRole});
    });
}

void DatasetListModel::reset()
{
    beginResetModel();
    m_dataset = m_session->dataset();
    m_thumbnails.clear();
    m_loading.clear();
    m_problems.clear();
    ++m_generation;
    endResetModel();
}

int DatasetListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() || !m_dataset ? 0 : int(m_dataset->size());
}

QString DatasetListModel::labelName(int label) const
{
    if (label < 0)
        return tr("?");
    if (m_session->model())
        return QString::fromStdString(m_session->model()->label(label));
    const auto &names = m_dataset ? m_dataset->classNames() : std::vector<std::string>{};
    return size_t(label) < names.size() ? QString::fromStdString(names[size_t(label)])
                                        : QString::number(label);
}

QVariant DatasetListModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || !m_dataset)
        return {};
    const int row = index.row();
    const int label = m_dataset->label(size_t(row));
    const int predicted = m_session->predictionFor(row);
    switch (role) {
    case Qt::DisplayRole: {
        if (label < 0) // nothing to be right or wrong about: the prediction alone
            return predicted >= 0 ? tr("\u2192 %1").arg(labelName(predicted)) : tr("?");
        QString text = labelName(label);
        if (predicted >= 0)
            text += (predicted == label ? QStringLiteral(" \u2713") : QStringLiteral(" \u2717 ")) +
                    (predicted == label ? QString() : labelName(predicted));
        return text;
    }
    case Qt::ToolTipRole: {
        QString tip =
            tr("%1\ntrue: %2\npredicted: %3")
                .arg(QString::fromStdString(m_dataset->sampleId(size_t(row))), labelName(label),
                     predicted >= 0 ? labelName(predicted) : tr("not computed"));
        if (const auto it = m_problems.constFind(row); it != m_problems.constEnd())
            tip += QStringLiteral("\n\u26A0 ") + *it;
        return tip;
    }
    case ProblemRole:
        return m_problems.value(row);
    case Qt::DecorationRole:
        return thumbnail(row);
    case LabelRole:
        return label;
    case PredictedRole:
        return predicted;
    case IdRole:
        return QString::fromStdString(m_dataset->sampleId(size_t(row)));
    }
    return {};
}

QImage DatasetListModel::thumbnail(int row) const
{
    if (const QImage *cached = m_thumbnails.object(row))
        return *cached;
    requestThumbnail(row);
    return m_placeholder;
}

void DatasetListModel::requestThumbnail(int row) const
{
    if (m_loading.contains(row))
        return;
    m_loading.insert(row);
    std::function<void()> task = [inbox = m_inbox, dataset = m_dataset, row,
                                  generation = m_generation] {
        acceptHandOff(&thumbnailHandOff);
        ThumbnailInbox::Thumbnail done;
        done.row = row;
        done.generation = generation;
        try {
            const Sample sample = dataset->load(size_t(row));
            done.image = makeThumbnail(sample.image);
            for (const auto &w : sample.warnings)
                done.problems += (done.problems.isEmpty() ? QString() : QStringLiteral("\n")) +
                                 QString::fromStdString(w);
            if (!done.problems.isEmpty())
                done.image = marked(done.image);
        } catch (const std::exception &e) {
            done.ok = false;
            done.problems = QString::fromUtf8(e.what());
        }
        inbox->deliver(std::move(done));
    };
    announceHandOff(&thumbnailHandOff);
    QThreadPool::globalInstance()->start(std::move(task));
}

void DatasetListModel::takeThumbnails()
{
    std::vector<ThumbnailInbox::Thumbnail> thumbnails;
    {
        std::lock_guard lock(m_inbox->mutex);
        thumbnails.swap(m_inbox->thumbnails);
        m_inbox->scheduled = false;
    }
    for (auto &thumbnail : thumbnails) {
        if (thumbnail.generation != m_generation)
            continue;
        const int row = thumbnail.row;
        m_loading.remove(row);
        if (!thumbnail.problems.isEmpty())
            m_problems.insert(row, thumbnail.problems);
        auto *image = new QImage(thumbnail.ok ? thumbnail.image : m_broken);
        m_thumbnails.insert(row, image, std::max<qsizetype>(1, image->sizeInBytes() / 1024));
        Q_EMIT dataChanged(index(row), index(row),
                           {Qt::DecorationRole, Qt::ToolTipRole, ProblemRole});
    }
}

DatasetListModel::~DatasetListModel()
{
    std::lock_guard lock(m_inbox->mutex);
    m_inbox->receiver = nullptr;
}

} // namespace heatlens::ui
