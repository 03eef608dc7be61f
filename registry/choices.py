"""Controlled vocabularies of the case report form, shared by models, forms and exports."""

from django.db import models


class Sex(models.TextChoices):
    MALE = "M", "Male"
    FEMALE = "F", "Female"


class EnrolmentStatus(models.TextChoices):
    ENROLLED = "enrolled", "Enrolled"
    SCREEN_FAILURE = "screen_failure", "Screen failure"


class SectionStatus(models.TextChoices):
    """Where one part of a casebook stands (derived, never stored)."""

    NOT_STARTED = "not started", "No data entered"
    INCOMPLETE = "incomplete", "Data entered, not marked complete"
    COMPLETE = "complete", "Marked complete"


class MissingCode(models.TextChoices):
    """Why a CRF field has no value: given with a comment instead of the value."""

    NOT_DONE = "not_done", "Not done"
    UNKNOWN = "unknown", "Unknown"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class CasebookStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETE = "complete", "Complete"
    LOCKED = "locked", "Locked"


class Smoking(models.TextChoices):
    NEVER = "never", "Never"
    FORMER = "former", "Former"
    CURRENT = "current", "Current"


class DiagnosisConfirmation(models.TextChoices):
    HISTOLOGICAL = "histological", "Histological"
    CYTOLOGICAL = "cytological", "Cytological"


class ExtensiveStageBasis(models.TextChoices):
    DISTANT_METASTASIS = "distant_metastasis", "Distant metastasis"
    BEYOND_RADIATION_PORT = "beyond_radiation_port", "Thoracic extension beyond one radiation port"


class PlatinumAgent(models.TextChoices):
    CARBOPLATIN = "carboplatin", "Carboplatin"
    CISPLATIN = "cisplatin", "Cisplatin"


class RecistResponse(models.TextChoices):
    CR = "CR", "Complete response"
    PR = "PR", "Partial response"
    SD = "SD", "Stable disease"
    PD = "PD", "Progressive disease"
    NE = "NE", "Not evaluable"


class TreatmentLine(models.TextChoices):
    FIRST = "1L", "First line"
    SECOND = "2L", "Second line"


class SecondLineChemotherapy(models.TextChoices):
    NONE = "none", "None"
    ETOPOSIDE_PLATINUM = "etoposide_platinum", "Etoposide + platinum (rechallenge)"
    IRINOTECAN = "irinotecan", "Irinotecan"
    TOPOTECAN = "topotecan", "Topotecan"
    PACLITAXEL = "paclitaxel", "Paclitaxel"
    OTHER = "other", "Other"


class AntiangiogenicAgent(models.TextChoices):
    NONE = "none", "None"
    ANLOTINIB = "anlotinib", "Anlotinib"
    BEVACIZUMAB = "bevacizumab", "Bevacizumab"
    APATINIB = "apatinib", "Apatinib"
    ENDOSTAR = "endostar", "Recombinant human endostatin"
    OTHER = "other", "Other"


class RadiotherapySite(models.TextChoices):
    NONE = "none", "No radiotherapy"
    PRIMARY_THORACIC = "primary_thoracic", "Primary thoracic tumour"
    LYMPH_NODES = "lymph_nodes", "Lymph nodes"
    BRAIN = "brain", "Brain"
    OTHER = "other", "Other"


class SecondLineEndReason(models.TextChoices):
    ONGOING = "ongoing", "Ongoing"
    PROGRESSION = "progression", "Progression"
    TOXICITY = "toxicity", "Toxicity"
    DEATH = "death", "Death"
    PATIENT_CHOICE = "patient_choice", "Patient choice"


class AeTerm(models.TextChoices):
    """CTCAE v5.0 terms of the reference cohort's Table 3 plus common immune-related ones.

    Every member names its label: a member without one would be labelled from its Python
    name ("Alt Increased"), which pages, exports and SPSS value labels would then show.
    Declared in alphabetical order of the term with "Other, specify" last, the order every
    consumer (form, API schema, SPSS value labels) shows them in.
    """

    ACUTE_INTERSTITIAL_PNEUMONITIS = (
        "Acute interstitial pneumonitis",
        "Acute interstitial pneumonitis",
    )
    ADRENAL_INSUFFICIENCY = "Adrenal insufficiency", "Adrenal insufficiency"
    ALT_INCREASED = "Alanine aminotransferase increased", "Alanine aminotransferase increased"
    ALOPECIA = "Alopecia", "Alopecia"
    ANEMIA = "Anemia", "Anemia"
    ANOREXIA = "Anorexia", "Anorexia (decreased appetite)"
    ARTHRALGIA = "Arthralgia", "Arthralgia"
    AST_INCREASED = "Aspartate aminotransferase increased", "Aspartate aminotransferase increased"
    COLITIS = "Colitis", "Colitis"
    CONSTIPATION = "Constipation", "Constipation"
    COUGH = "Cough", "Cough"
    DIARRHEA = "Diarrhea", "Diarrhea"
    DYSPNEA = "Dyspnea", "Dyspnea"
    SEVERE_SKIN_REACTION = "Erythema multiforme", "Erythema multiforme (severe skin reaction)"
    FATIGUE = "Fatigue", "Fatigue"
    FEVER = "Fever", "Fever (pyrexia)"
    HEPATITIS = "Hepatitis", "Hepatitis"
    HYPERTHYROIDISM = "Hyperthyroidism", "Hyperthyroidism"
    HYPOPHYSITIS = "Hypophysitis", "Hypophysitis"
    HYPOTHYROIDISM = "Hypothyroidism", "Hypothyroidism"
    INSOMNIA = "Insomnia", "Insomnia"
    INTERSTITIAL_LUNG_DISEASE = "Interstitial lung disease", "Interstitial lung disease"
    MYOCARDITIS = "Myocarditis", "Myocarditis"
    NAUSEA = "Nausea", "Nausea"
    NEUTROPHIL_COUNT_DECREASED = (
        "Neutrophil count decreased",
        "Neutrophil count decreased (neutropenia)",
    )
    PLATELET_COUNT_DECREASED = (
        "Platelet count decreased",
        "Platelet count decreased (thrombocytopenia)",
    )
    PNEUMONITIS = "Pneumonitis", "Pneumonitis"
    PRURITUS = "Pruritus", "Pruritus"
    PULMONARY_FIBROSIS = "Pulmonary fibrosis", "Pulmonary fibrosis"
    RASH_MACULO_PAPULAR = "Rash maculo-papular", "Rash maculo-papular"
    THYROIDITIS = "Thyroiditis", "Thyroiditis"
    TYPE_1_DIABETES = "Type 1 diabetes mellitus", "Type 1 diabetes mellitus"
    VOMITING = "Vomiting", "Vomiting"
    OTHER = "Other, specify", "Other, specify"


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
    UNRELATED = "unrelated", "Unrelated"
    UNLIKELY = "unlikely", "Unlikely"
    POSSIBLE = "possible", "Possible"
    PROBABLE = "probable", "Probable"
    DEFINITE = "definite", "Definite"


class AeAction(models.TextChoices):
    NONE = "none", "None"
    DELAYED = "delayed", "Dose delayed"
    INTERRUPTED = "interrupted", "Treatment interrupted"
    DISCONTINUED = "discontinued", "Treatment discontinued"


class AeOutcome(models.TextChoices):
    RECOVERED = "recovered", "Recovered"
    RECOVERING = "recovering", "Recovering"
    NOT_RECOVERED = "not_recovered", "Not recovered"
    SEQUELAE = "sequelae", "Recovered with sequelae"
    FATAL = "fatal", "Fatal"


class VitalStatus(models.TextChoices):
    ALIVE = "alive", "Alive"
    DEAD = "dead", "Dead"
    LOST = "lost", "Lost to follow-up"


class DeathCause(models.TextChoices):
    PROGRESSION = "progression", "Disease progression"
    ADVERSE_EVENT = "adverse_event", "Adverse event"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class ProgressionStatus(models.TextChoices):
    NO_PROGRESSION = "no_progression", "No progression"
    PROGRESSED = "progressed", "Progressed"
    UNKNOWN = "unknown", "Unknown"


class Section(models.TextChoices):
    """The parts of the casebook, in the order a coordinator fills them."""

    REGISTRATION = "registration", "Registration & eligibility"
    BASELINE = "baseline", "Baseline"
    FIRST_LINE = "first_line", "First-line therapy"
    ASSESSMENTS = "assessments", "Tumour assessments"
    SECOND_LINE = "second_line", "Second-line therapy"
    ADVERSE_EVENTS = "adverse_events", "Adverse events"
    FOLLOW_UP = "follow_up", "Follow-up"
