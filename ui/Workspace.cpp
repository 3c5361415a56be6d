#include "ui/Workspace.h"

#include "core/io/AtomicFile.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

#include <stdexcept>

namespace heatlens::ui {

namespace {

const QString kFormat = QStringLiteral("heatlens-workspace");

QJsonArray toArray(const QStringList &list)
{
    QJsonArray array;
    for (const auto &item : list)
        array.append(item);
    return array;
}

} // namespace

QJsonObject Workspace::toJson() const
{
    QJsonObject params;
    for (const auto &[name, value] : this->params)
        params.insert(QString::fromStdString(name), QString::fromStdString(value));
    QJsonArray pinned;
    for (const auto &[id, values] : curvesPinned) {
        QJsonObject p;
        for (const auto &[name, value] : values)
            p.insert(QString::fromStdString(name), QString::fromStdString(value));
        pinned.append(QJsonObject{{"method", id}, {"params", p}});
    }
    return {
        {"format", kFormat},
        {"version", kVersion},
        {"model", model},
        {"dataset", dataset},
        {"index", index},
        {"method", method},
        {"params", params},
        {"target", target},
        {"tab", tab},
        {"compare",
         QJsonObject{{"models", toArray(compareModels)}, {"methods", toArray(compareMethods)}}},
        {"curves", QJsonObject{{"compared", toArray(curvesCompared)},
                               {"pinned", pinned},
                               {"mode", curvesMode},
                               {"order", curvesOrder},
                               {"baseline", curvesBaseline},
                               {"steps", curvesSteps},
                               {"cells", curvesCells},
                               {"logit", curvesLogit}}},
        {"sanity", QJsonObject{{"mode", sanityMode}, {"threshold", sanityThreshold}}},
        {"groups", QJsonObject{{"grouping", grouping},
                               {"estimator", estimator},
                               {"index", interactionIndex},
                               {"budget", budget},
                               {"adjacent_only", adjacentOnly},
                               {"masker", masker}}},
        {"uncertainty",
         QJsonObject{{"source", uncertaintySource}, {"samples", uncertaintySamples}}},
    };
}

Workspace Workspace::fromJson(const QJsonObject &json)
{
    if (json.value("format").toString() != kFormat)
        throw std::runtime_error("not a Heatlens workspace (no \"format\": \"" +
                                 kFormat.toStdString() + "\")");
    const int version = json.value("version").toInt(0);
    if (version < 1 || version > kVersion)
        throw std::runtime_error("workspace version " + std::to_string(version) +
                                 " (this Heatlens reads version " + std::to_string(kVersion) + ")");
    auto field = [&](const QJsonObject &object, const char *name, QJsonValue::Type type,
                     const QString &where) {
        const QJsonValue value = object.value(QLatin1String(name));
        if (!value.isUndefined() && value.type() != type)
            throw std::runtime_error("field \"" + (where + name).toStdString() +
                                     "\" has the wrong type");
        return value;
    };
    auto text = [&](const QJsonObject &o, const char *name, const QString &where, QString &out) {
        const QJsonValue v = field(o, name, QJsonValue::String, where);
        if (!v.isUndefined())
            out = v.toString();
    };
    auto number = [&](const QJsonObject &o, const char *name, const QString &where, int &out) {
        const QJsonValue v = field(o, name, QJsonValue::Double, where);
        if (!v.isUndefined())
            out = v.toInt();
    };
    auto list = [&](const QJsonObject &o, const char *name, const QString &where,
                    QStringList &out) {
        const QJsonValue v = field(o, name, QJsonValue::Array, where);
        for (const auto &item : v.toArray())
            if (item.isString())
                out << item.toString();
    };
    Workspace w;
    text(json, "model", {}, w.model);
    text(json, "dataset", {}, w.dataset);
    number(json, "index", {}, w.index);
    text(json, "method", {}, w.method);
    const QJsonObject params = field(json, "params", QJsonValue::Object, {}).toObject();
    for (auto it = params.begin(); it != params.end(); ++it)
        w.params[it.key().toStdString()] = it.value().toVariant().toString().toStdString();
    number(json, "target", {}, w.target);
    text(json, "tab", {}, w.tab);
    const QJsonObject compare = field(json, "compare", QJsonValue::Object, {}).toObject();
    list(compare, "models", "compare.", w.compareModels);
    list(compare, "methods", "compare.", w.compareMethods);
    const QJsonObject curves = field(json, "curves", QJsonValue::Object, {}).toObject();
    list(curves, "compared", "curves.", w.curvesCompared);
    for (const QJsonValue &v : field(curves, "pinned", QJsonValue::Array, "curves.").toArray()) {
        if (!v.isObject() || !v.toObject().value("method").isString())
            throw std::runtime_error("curves.pinned: every entry must be an object with a "
                                     "\"method\"");
        std::map<std::string, std::string> values;
        const QJsonObject p = v.toObject().value("params").toObject();
        for (auto it = p.begin(); it != p.end(); ++it)
            values[it.key().toStdString()] = it.value().toVariant().toString().toStdString();
        w.curvesPinned.push_back({v.toObject().value("method").toString(), values});
    }
    text(curves, "mode", "curves.", w.curvesMode);
    text(curves, "order", "curves.", w.curvesOrder);
    text(curves, "baseline", "curves.", w.curvesBaseline);
    number(curves, "steps", "curves.", w.curvesSteps);
    number(curves, "cells", "curves.", w.curvesCells);
    w.curvesLogit = field(curves, "logit", QJsonValue::Bool, "curves.").toBool(false);
    const QJsonObject sanity = field(json, "sanity", QJsonValue::Object, {}).toObject();
    text(sanity, "mode", "sanity.", w.sanityMode);
    w.sanityThreshold =
        field(sanity, "threshold", QJsonValue::Double, "sanity.").toDouble(w.sanityThreshold);
    const QJsonObject groups = field(json, "groups", QJsonValue::Object, {}).toObject();
    text(groups, "grouping", "groups.", w.grouping);
    text(groups, "estimator", "groups.", w.estimator);
    text(groups, "index", "groups.", w.interactionIndex);
    number(groups, "budget", "groups.", w.budget);
    w.adjacentOnly = field(groups, "adjacent_only", QJsonValue::Bool, "groups.").toBool(false);
    text(groups, "masker", "groups.", w.masker);
    const QJsonObject uncertainty = field(json, "uncertainty", QJsonValue::Object, {}).toObject();
    text(uncertainty, "source", "uncertainty.", w.uncertaintySource);
    number(uncertainty, "samples", "uncertainty.", w.uncertaintySamples);
    return w;
}

QStringList Workspace::missingPaths() const
{
    QStringList missing;
    for (const QString &path : QStringList{model, dataset} + compareModels)
        if (!path.isEmpty() && !QFileInfo::exists(path))
            missing << path;
    return missing;
}

Workspace readWorkspace(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw std::runtime_error(path.toStdString() + ": cannot be read");
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &error);
    if (!document.isObject())
        throw std::runtime_error(path.toStdString() + ": not JSON (" +
                                 error.errorString().toStdString() + ")");
    try {
        return Workspace::fromJson(document.object());
    } catch (const std::exception &e) {
        throw std::runtime_error(path.toStdString() + ": " + e.what());
    }
}

void writeWorkspace(const QString &path, const Workspace &workspace)
{
    writeTextAtomically(path.toStdString(),
                        QJsonDocument(workspace.toJson()).toJson().toStdString());
}

} // namespace heatlens::ui
