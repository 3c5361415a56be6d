#include "core/explain/MethodRegistry.h"
#include "core/explain/RequestKey.h"
#include "core/jobs/ResultCache.h"
#include "core/metrics/Faithfulness.h"
#include "core/model/Model.h"
#include "tests/support/TestSupport.h"

#include <QTest>

#include <opencv2/core.hpp>

#include <string>

using heatlens::CacheBudget;
using heatlens::Params;
using heatlens::RequestKey;
using heatlens::ResultCache;

namespace {

constexpr size_t kMB = size_t(1) << 20;

// A float map of about `mb` megabytes.
cv::Mat megabytes(int mb)
{
    return cv::Mat(int(mb * kMB / (256 * sizeof(float))), 256, CV_32F, cv::Scalar(1.0f));
}

} // namespace

class ResultCacheTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void bytesHeldStayUnderTheLimitLeastRecentlyUsedGoFirst()
    {
        auto budget = std::make_shared<CacheBudget>(10 * kMB);
        ResultCache<cv::Mat> maps(budget);
        for (int i = 0; i < 4; ++i)
            maps.put("map" + std::to_string(i), megabytes(3));
        // 4 x 3 MB do not fit in 10 MB: the oldest went.
        QVERIFY(budget->used() <= budget->limit());
        QCOMPARE(maps.size(), size_t(3));
        QVERIFY(!maps.contains("map0"));
        QCOMPARE(budget->evictions(), size_t(1));
        // A use makes an entry the most recent: the next eviction takes map2, not map1.
        QVERIFY(maps.find("map1") != nullptr);
        maps.put("map4", megabytes(3));
        QVERIFY(maps.contains("map1"));
        QVERIFY(!maps.contains("map2"));
        QVERIFY(budget->used() <= budget->limit());
    }

    void oneBudgetBoundsEveryCacheThatSharesIt()
    {
        auto budget = std::make_shared<CacheBudget>(8 * kMB);
        ResultCache<cv::Mat> first(budget);
        ResultCache<cv::Mat> second(budget);
        first.put("a", megabytes(3));
        first.put("b", megabytes(3));
        second.put("c", megabytes(3)); // evicts "a" of the other cache
        QVERIFY(!first.contains("a"));
        QVERIFY(first.contains("b"));
        QVERIFY(second.contains("c"));
        QCOMPARE(budget->entries(), size_t(2));
        second.clear();
        QCOMPARE(budget->entries(), size_t(1));
        QVERIFY(budget->used() >= 3 * kMB && budget->used() < 4 * kMB);
        {
            ResultCache<cv::Mat> gone(budget);
            gone.put("d", megabytes(2));
            QCOMPARE(budget->entries(), size_t(2));
        }
        QCOMPARE(budget->entries(), size_t(1)); // a destroyed cache gives its bytes back
    }

    void keptKeysAndTheNewestEntryAreNeverEvicted()
    {
        auto budget = std::make_shared<CacheBudget>(5 * kMB);
        ResultCache<cv::Mat> maps(budget);
        maps.put("shown", megabytes(3));
        maps.keepOnly({"shown"});
        maps.put("other", megabytes(3)); // over the limit, but "shown" stays and so does this
        QVERIFY(maps.contains("shown"));
        QVERIFY(maps.contains("other"));
        maps.put("third", megabytes(1)); // "other" goes
        QVERIFY(!maps.contains("other"));
        // A result larger than the whole limit is held alone rather than computed again.
        maps.keepOnly({});
        maps.put("huge", megabytes(7));
        QVERIFY(maps.contains("huge"));
        QCOMPARE(maps.size(), size_t(1));
        budget->setLimit(kMB); // lowering the limit evicts at once
        QCOMPARE(maps.size(), size_t(0));
        QCOMPARE(budget->used(), size_t(0));
    }

    void emptyKeysAreNotCachedAndReplacingChargesTheNewSize()
    {
        auto budget = std::make_shared<CacheBudget>(100 * kMB);
        ResultCache<cv::Mat> maps(budget);
        maps.put("", megabytes(1));
        QCOMPARE(maps.size(), size_t(0));
        maps.put("k", megabytes(4));
        maps.put("k", megabytes(1));
        QCOMPARE(budget->entries(), size_t(1));
        QVERIFY(budget->used() < 2 * kMB);
        maps.erase("k");
        QCOMPARE(budget->used(), size_t(0));
    }

    void requestKeysNameTheComputationWithCompleteParameters()
    {
        auto model = heatlens::Model::fromModule(heatlens::test::seededDemoCnn(3),
                                                 heatlens::ModelCard{}, "key test");
        auto other = heatlens::Model::fromModule(heatlens::test::seededDemoCnn(3),
                                                 heatlens::ModelCard{}, "key test");
        const auto &ig = heatlens::MethodRegistry::instance().get("integrated-gradients");
        Params given;
        given.set("steps", 50);
        const Params defaults = heatlens::completeParams(ig.params(), {}, ig.id());
        QCOMPARE(defaults.getInt("steps"), 50); // the case below is about naming the default
        const std::string partial =
            RequestKey(*model, nullptr, "img").method(ig.id(), given).target(3);
        const std::string none = RequestKey(*model, nullptr, "img").method(ig.id(), {}).target(3);
        QCOMPARE(partial, none);
        Params changed = given;
        changed.set("steps", 20);
        QVERIFY(partial !=
                RequestKey(*model, nullptr, "img").method(ig.id(), changed).target(3).text());
        QVERIFY(partial != RequestKey(*model, nullptr, "img").method(ig.id(), {}).target(4).text());
        QVERIFY(partial !=
                RequestKey(*model, nullptr, "img2").method(ig.id(), {}).target(3).text());
        QVERIFY(partial != RequestKey(*other, nullptr, "img").method(ig.id(), {}).target(3).text());
        // Options of what is computed from the explanation: only what changes the result.
        heatlens::CurveOptions a, b;
        b.batch = 7;
        QCOMPARE(a.canonical(), b.canonical());
        b.steps = 20;
        QVERIFY(a.canonical() != b.canonical());
        heatlens::CurveOptions insertA, insertB;
        insertA.mode = insertB.mode = "insertion";
        insertB.baseline = "mean"; // insertion starts from a blurred canvas whatever the baseline
        QCOMPARE(insertA.canonical(), insertB.canonical());
    }
};

QTEST_GUILESS_MAIN(ResultCacheTest)
#include "test_result_cache.moc"
