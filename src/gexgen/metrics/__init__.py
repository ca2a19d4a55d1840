"""Fidelity metrics for synthetic expression profiles (numpy + numba + scikit-learn; no torch).

gamma score with a streaming gene-gene correlation, precision / recall /
density / coverage, detection AUC (logistic and gradient-boosted probes),
train-on-synthetic-test-on-real, per-gene moment agreement, per-gene KS /
Wasserstein-1 marginals, privacy (membership inference, distance to closest
record), dispersion, differential expression (fold changes, MMD),
augmentation, the evaluation report and the CI check.
"""

from __future__ import annotations

from gexgen.metrics.augmentation import augmentation_scores
from gexgen.metrics.check import CheckResult, ThresholdCheck, check_generator
from gexgen.metrics.correlation import CorrelationAccumulator, GeneCorrelation, gene_correlation
from gexgen.metrics.detection import DetectionResult, detection_auc, probe_genes
from gexgen.metrics.differential import Contrast, de_scores, find_contrasts, fold_changes
from gexgen.metrics.dispersion import dispersion_scores, std_ratios
from gexgen.metrics.evaluation import EvaluateConfig, Evaluation, compute_metrics, evaluate
from gexgen.metrics.gamma import GammaResult, gamma_ceiling, gamma_score, upper_triangle_pearson
from gexgen.metrics.gaussian_baseline import ClassConditionalGaussian
from gexgen.metrics.gene_moments import GroupMoments, moment_agreement
from gexgen.metrics.marginals import marginal_distances, marginal_scores
from gexgen.metrics.mmd import rbf_mmd
from gexgen.metrics.nearest import cross_nearest, nearest_neighbours
from gexgen.metrics.precision_recall import PRDCResult, knn_radii, prdc, standardize_with
from gexgen.metrics.privacy import PrivacyResult, privacy_metrics
from gexgen.metrics.tstr import label_classification_scores, tstr_scores

__all__ = [
    "CheckResult",
    "ClassConditionalGaussian",
    "Contrast",
    "CorrelationAccumulator",
    "DetectionResult",
    "EvaluateConfig",
    "Evaluation",
    "GammaResult",
    "GeneCorrelation",
    "GroupMoments",
    "PRDCResult",
    "PrivacyResult",
    "ThresholdCheck",
    "augmentation_scores",
    "check_generator",
    "compute_metrics",
    "cross_nearest",
    "de_scores",
    "detection_auc",
    "dispersion_scores",
    "evaluate",
    "find_contrasts",
    "fold_changes",
    "gamma_ceiling",
    "gamma_score",
    "gene_correlation",
    "knn_radii",
    "label_classification_scores",
    "marginal_distances",
    "marginal_scores",
    "moment_agreement",
    "nearest_neighbours",
    "prdc",
    "probe_genes",
    "privacy_metrics",
    "rbf_mmd",
    "standardize_with",
    "std_ratios",
    "tstr_scores",
    "upper_triangle_pearson",
]
