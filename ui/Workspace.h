#pragma once

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace heatlens::ui {

// What File > Save workspace writes (a small JSON file, format "heatlens-workspace", version 1;
// the README documents it): the open model and dataset, the image, the method with its
// parameters and the class explained, the tab shown, and each tab's state that a person set up
// (the Compare tab's extra models and methods, the Curves tab's compared and pinned methods and
// settings, the Sanity tab's mode and threshold, the Groups tab's grouping, estimate and masker,
// the Uncertainty tab's source and sample count). Paths are
// stored as given (absolute when the viewer opened them so).
struct Workspace
{
    static constexpr int kVersion = 1;

    QString model;   // a TorchScript file or an ensemble folder; empty: none
    QString dataset; // a dataset source; empty: none
    int index = -1;  // the image
    QString method = QStringLiteral("saliency");
    std::map<std::string, std::string> params; // of the method, name -> text
    int target = -1;                           // -1: the predicted class
    QString tab;                               // explain, compare, curves, ...
    QStringList compareModels;                 // rows after the open model's
    QStringList compareMethods;                // columns
    QStringList curvesCompared;                // methods and controls compared on the Curves tab
    // Methods pinned on the Curves tab, each with its parameters (pinned maps of one image are
    // not kept), and the tab's settings.
    std::vector<std::pair<QString, std::map<std::string, std::string>>> curvesPinned;
    QString curvesMode = QStringLiteral("both"); // both | deletion | insertion
    QString curvesOrder = QStringLiteral("morf");
    QString curvesBaseline = QStringLiteral("black");
    int curvesSteps = 100;
    int curvesCells = 0; // 0: pixels, else N x N grid cells
    bool curvesLogit = false;
    QString sanityMode = QStringLiteral("cascading");
    double sanityThreshold = 0.5;
    QString grouping = QStringLiteral("slico:16");
    QString estimator = QStringLiteral("exact"), interactionIndex = QStringLiteral("k-sii");
    int budget = 0;
    bool adjacentOnly = false;
    QString masker = QStringLiteral("black");
    QString uncertaintySource = QStringLiteral("mc-dropout");
    int uncertaintySamples = 32;

    QJsonObject toJson() const;
    // Throws std::runtime_error naming what is wrong: not a workspace, a newer version, a field
    // of the wrong type. Missing fields keep their defaults.
    static Workspace fromJson(const QJsonObject &json);
    // The paths it names that do not exist (model, dataset, compared models).
    QStringList missingPaths() const;
};

// Reads and writes the file (atomically); errors name the file.
Workspace readWorkspace(const QString &path);
void writeWorkspace(const QString &path, const Workspace &workspace);

} // namespace heatlens::ui
