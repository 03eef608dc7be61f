"""Controlled vocabularies of the case report form, shared by models, forms and exports."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class EnrolmentStatus(models.TextChoices):
    ENROLLED = "enrolled", _("Enrolled")
    SCREEN_FAILURE = "screen_failure", _("Screen failure")


class SectionStatus(models.TextChoices):
    """Where one part of a casebook stands (derived, never stored)."""

    NOT_STARTED = "not started", _("No data entered")
    INCOMPLETE = "incomplete", _("Data entered, not marked complete")
    COMPLETE = "complete", _("Marked complete")


class MissingCode(models.TextChoices):
    """Why a CRF field has no value: given with a comment instead of the value."""

    NOT_DONE = "not_done", _("Not done")
    UNKNOWN = "unknown", _("Unknown")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


class CasebookStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETE = "complete", _("Complete")
    LOCKED = "locked", _("Locked")


class Smoking(models.TextChoices):
    NEVER = "never", _("Never")
    FORMER = "former", _("Former")
    CURRENT = "current", _("Current")


class DiagnosisConfirmation(models.TextChoices):
    HISTOLOGICAL = "histological", _("Histological")
    CYTOLOGICAL = "cytological", _("Cytological")


class ExtensiveStageBasis(models.TextChoices):
    DISTANT_METASTASIS = "distant_metastasis", _("Distant metastasis")
    BEYOND_RADIATION_PORT = (
        "beyond_radiation_port",
        _("Thoracic extension beyond one radiation port"),
    )


class PlatinumAgent(models.TextChoices):
    CARBOPLATIN = "carboplatin", _("Carboplatin")
    CISPLATIN = "cisplatin", _("Cisplatin")


class RecistResponse(models.TextChoices):
    CR = "CR", _("Complete response")
    PR = "PR", _("Partial response")
    SD = "SD", _("Stable disease")
    PD = "PD", _("Progressive disease")
    NE = "NE", _("Not evaluable")


class TreatmentLine(models.TextChoices):
    FIRST = "1L", _("First line")
    SECOND = "2L", _("Second line")


class SecondLineChemotherapy(models.TextChoices):
    NONE = "none", _("None")
    ETOPOSIDE_PLATINUM = "etoposide_platinum", _("Etoposide + platinum (rechallenge)")
    IRINOTECAN = "irinotecan", _("Irinotecan")
    TOPOTECAN = "topotecan", _("Topotecan")
    PACLITAXEL = "paclitaxel", _("Paclitaxel")
    OTHER = "other", _("Other")


class AntiangiogenicAgent(models.TextChoices):
    NONE = "none", _("None")
    ANLOTINIB = "anlotinib", _("Anlotinib")
    BEVACIZUMAB = "bevacizumab", _("Bevacizumab")
    APATINIB = "apatinib", _("Apatinib")
    ENDOSTAR = "endostar", _("Recombinant human endostatin")
    OTHER = "other", _("Other")


class RadiotherapySite(models.TextChoices):
    NONE = "none", _("No radiotherapy")
    PRIMARY_THORACIC = "primary_thoracic", _("Primary thoracic tumour")
    LYMPH_NODES = "lymph_nodes", _("Lymph nodes")
    BRAIN = "brain", _("Brain")
    OTHER = "other", _("Other")


class SecondLineEndReason(models.TextChoices):
    ONGOING = "ongoing", _("Ongoing")
    PROGRESSION = "progression", _("Progression")
    TOXICITY = "toxicity", _("Toxicity")
    DEATH = "death", _("Death")
    PATIENT_CHOICE = "patient_choice", _("Patient choice")


class AeTerm(models.TextChoices):
    """CTCAE v5.0 terms of the reference cohort's Table 3 plus common immune-related ones.

    The stored value is the term as the reference study recorded it and never changes
    (exports, the analysis plan's term groups and existing rows use it). The label is the
    term exactly as CTCAE v5.0 publishes it, so that a monitor can match it to the list.
    Five recorded terms are not CTCAE v5.0 terms; CTCAE reports such an event under its
    organ class's "<SOC> - Other, specify" term naming the event, and so do their labels:

    - Acute interstitial pneumonitis, Interstitial lung disease: "Respiratory, thoracic and
      mediastinal disorders - Other, specify" (CTCAE would grade both as Pneumonitis; the
      analysis plan reports them in its Pneumonitis group, so they are kept apart here
      rather than merged into Pneumonitis, which would change existing data);
    - Hepatitis: "Hepatobiliary disorders - Other, specify" (CTCAE has no hepatitis term;
      immune-related hepatitis is graded by the transaminase terms);
    - Thyroiditis: "Endocrine disorders - Other, specify";
    - Type 1 diabetes mellitus: "Metabolism and nutrition disorders - Other, specify"
      (CTCAE v5.0 has Hyperglycemia, no diabetes term).

    Declared in alphabetical order of the English label with "Other, specify" last, the
    order every consumer (form, API schema, SPSS value labels) shows them in. Every member
    names its label: one without would be labelled from its Python name ("Alt Increased").
    """

    ADRENAL_INSUFFICIENCY = "Adrenal insufficiency", _("Adrenal insufficiency")
    ALT_INCREASED = (
        "Alanine aminotransferase increased",
        _("Alanine aminotransferase increased"),
    )
    ALOPECIA = "Alopecia", _("Alopecia")
    ANEMIA = "Anemia", _("Anemia")
    ANOREXIA = "Anorexia", _("Anorexia")
    ARTHRALGIA = "Arthralgia", _("Arthralgia")
    AST_INCREASED = (
        "Aspartate aminotransferase increased",
        _("Aspartate aminotransferase increased"),
    )
    COLITIS = "Colitis", _("Colitis")
    CONSTIPATION = "Constipation", _("Constipation")
    COUGH = "Cough", _("Cough")
    DIARRHEA = "Diarrhea", _("Diarrhea")
    DYSPNEA = "Dyspnea", _("Dyspnea")
    THYROIDITIS = "Thyroiditis", _("Endocrine disorders - Other, specify: Thyroiditis")
    SEVERE_SKIN_REACTION = "Erythema multiforme", _("Erythema multiforme")
    FATIGUE = "Fatigue", _("Fatigue")
    FEVER = "Fever", _("Fever")
    HEPATITIS = "Hepatitis", _("Hepatobiliary disorders - Other, specify: Hepatitis")
    HYPERTHYROIDISM = "Hyperthyroidism", _("Hyperthyroidism")
    HYPOPHYSITIS = "Hypophysitis", _("Hypophysitis")
    HYPOTHYROIDISM = "Hypothyroidism", _("Hypothyroidism")
    INSOMNIA = "Insomnia", _("Insomnia")
    TYPE_1_DIABETES = (
        "Type 1 diabetes mellitus",
        _("Metabolism and nutrition disorders - Other, specify: Type 1 diabetes mellitus"),
    )
    MYOCARDITIS = "Myocarditis", _("Myocarditis")
    NAUSEA = "Nausea", _("Nausea")
    NEUTROPHIL_COUNT_DECREASED = "Neutrophil count decreased", _("Neutrophil count decreased")
    PLATELET_COUNT_DECREASED = "Platelet count decreased", _("Platelet count decreased")
    PNEUMONITIS = "Pneumonitis", _("Pneumonitis")
    PRURITUS = "Pruritus", _("Pruritus")
    PULMONARY_FIBROSIS = "Pulmonary fibrosis", _("Pulmonary fibrosis")
    RASH_MACULO_PAPULAR = "Rash maculo-papular", _("Rash maculo-papular")
    ACUTE_INTERSTITIAL_PNEUMONITIS = (
        "Acute interstitial pneumonitis",
        _(
            "Respiratory, thoracic and mediastinal disorders - Other, specify: "
            "Acute interstitial pneumonitis"
        ),
    )
    INTERSTITIAL_LUNG_DISEASE = (
        "Interstitial lung disease",
        _(
            "Respiratory, thoracic and mediastinal disorders - Other, specify: "
            "Interstitial lung disease"
        ),
    )
    VOMITING = "Vomiting", _("Vomiting")
    OTHER = "Other, specify", _("Other, specify")


# Terms that are immune-related by nature; the form pre-ticks the flag for them.
IMMUNE_RELATED_TERMS = frozenset(
    {
        AeTerm.ACUTE_INTERSTITIAL_PNEUMONITIS,
        AeTerm.ADRENAL_INSUFFICIENCY,
        AeTerm.COLITIS,
        AeTerm.HEPATITIS,
        AeTerm.HYPERTHYROIDISM,
        AeTerm.HYPOPHYSITIS,
        AeTerm.HYPOTHYROIDISM,
        AeTerm.MYOCARDITIS,
        AeTerm.PNEUMONITIS,
        AeTerm.THYROIDITIS,
        AeTerm.TYPE_1_DIABETES,
    }
)


class AeAttribution(models.TextChoices):
    UNRELATED = "unrelated", _("Unrelated")
    UNLIKELY = "unlikely", _("Unlikely")
    POSSIBLE = "possible", _("Possible")
    PROBABLE = "probable", _("Probable")
    DEFINITE = "definite", _("Definite")


class AeAction(models.TextChoices):
    NONE = "none", _("None")
    DELAYED = "delayed", _("Dose delayed")
    INTERRUPTED = "interrupted", _("Treatment interrupted")
    DISCONTINUED = "discontinued", _("Treatment discontinued")


class AeOutcome(models.TextChoices):
    RECOVERED = "recovered", _("Recovered")
    RECOVERING = "recovering", _("Recovering")
    NOT_RECOVERED = "not_recovered", _("Not recovered")
    SEQUELAE = "sequelae", _("Recovered with sequelae")
    FATAL = "fatal", _("Fatal")


class VitalStatus(models.TextChoices):
    ALIVE = "alive", _("Alive")
    DEAD = "dead", _("Dead")
    LOST = "lost", _("Lost to follow-up")


class DeathCause(models.TextChoices):
    PROGRESSION = "progression", _("Disease progression")
    ADVERSE_EVENT = "adverse_event", _("Adverse event")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class ProgressionStatus(models.TextChoices):
    NO_PROGRESSION = "no_progression", _("No progression")
    PROGRESSED = "progressed", _("Progressed")
    UNKNOWN = "unknown", _("Unknown")


class Section(models.TextChoices):
    """The parts of the casebook, in the order a coordinator fills them."""

    REGISTRATION = "registration", _("Registration & eligibility")
    BASELINE = "baseline", _("Baseline")
    FIRST_LINE = "first_line", _("First-line therapy")
    ASSESSMENTS = "assessments", _("Tumour assessments")
    SECOND_LINE = "second_line", _("Second-line therapy")
    ADVERSE_EVENTS = "adverse_events", _("Adverse events")
    FOLLOW_UP = "follow_up", _("Follow-up")
