// The fixed design of the fake study: which forms exist, what they ask, and when they are due.
// Randomness only fills values in; the shape stays stable across seeds so tests can name fields.

/** Every variable type the fake study uses. */
export const VARIABLE_TYPES = [
  'TEXT',
  'MEMO',
  'NUMBER',
  'INTEGER',
  'DATE',
  'TIME',
  'DATETIME',
  'RADIO',
  'DROPDOWN',
  'CHECKBOX',
] as const;

/** One of the variable types in {@link VARIABLE_TYPES}. */
export type VariableType = (typeof VARIABLE_TYPES)[number];

/** The design of one variable. */
export interface VariableBlueprint {
  name: string;
  type: VariableType;
  label: string;
  choices?: readonly string[];
  words?: readonly string[];
  min?: number;
  max?: number;
  decimals?: number;
  blinded?: boolean;
  retired?: boolean;
}

/** The design of one form. */
export interface FormBlueprint {
  key: string;
  name: string;
  type: 'Subject' | 'Site';
  log?: boolean;
  epro?: boolean;
  retired?: boolean;
  variables: readonly VariableBlueprint[];
}

/** The design of one interval. */
export interface IntervalBlueprint {
  name: string;
  description: string;
  sequence: number;
  group: string;
  forms: readonly string[];
  dueDays: number;
  slack: number;
  timeline: string;
  retired?: boolean;
  /** Relative share of generated records that fall in this interval. */
  weight: number;
}

/** Adverse-event verbatim terms and the dictionary term each codes to. */
export const AE_TERMS: readonly (readonly [string, string])[] = [
  ['Headache', 'Headache'],
  ['Nausea', 'Nausea'],
  ['Fatigue', 'Fatigue'],
  ['Dizzy', 'Dizziness'],
  ['Rash on arms', 'Rash'],
  ['Bronchitis', 'Bronchitis'],
  ['Upset stomach', 'Dyspepsia'],
  ['High blood pressure', 'Hypertension'],
  ['Back pain', 'Back pain'],
  ['Insomnia', 'Insomnia'],
  ['Cough', 'Cough'],
  ['Angina', 'Angina pectoris'],
];

/** Medication verbatim names and the dictionary term each codes to. */
export const CM_TERMS: readonly (readonly [string, string])[] = [
  ['Tylenol', 'PARACETAMOL'],
  ['Advil', 'IBUPROFEN'],
  ['Aspirin', 'ACETYLSALICYLIC ACID'],
  ['Lipitor', 'ATORVASTATIN'],
  ['Metformin', 'METFORMIN'],
  ['Lisinopril', 'LISINOPRIL'],
  ['Omeprazole', 'OMEPRAZOLE'],
  ['Zyrtec', 'CETIRIZINE'],
];

const MH_TERMS = ['Asthma', 'Type 2 diabetes', 'Hypertension', 'Migraine', 'Appendectomy', 'Eczema', 'Gout'];
const YES_NO = ['Y', 'N'];

/** Forms of the fake study; variable names are the keys of `recordData`. */
export const FORMS: readonly FormBlueprint[] = [
  {
    key: 'REG',
    name: 'Registration',
    type: 'Subject',
    variables: [
      { name: 'regdt', type: 'DATE', label: 'Date of registration' },
      {
        name: 'initials',
        type: 'TEXT',
        label: 'Subject initials',
        words: ['ABC', 'JDS', 'MKL', 'RTW', 'ENP'],
      },
      { name: 'consent', type: 'CHECKBOX', label: 'Informed consent signed' },
      { name: 'constm', type: 'TIME', label: 'Time consent was signed' },
    ],
  },
  {
    key: 'DM',
    name: 'Demographics',
    type: 'Subject',
    variables: [
      { name: 'brthdt', type: 'DATE', label: 'Date of birth' },
      { name: 'age', type: 'INTEGER', label: 'Age in years', min: 18, max: 85 },
      { name: 'sex', type: 'RADIO', label: 'Sex', choices: ['M', 'F'] },
      { name: 'race', type: 'DROPDOWN', label: 'Race', choices: ['1', '2', '3', '4', '5', '6'] },
      { name: 'ethnic', type: 'RADIO', label: 'Ethnicity', choices: ['1', '2', '3'] },
      { name: 'height', type: 'NUMBER', label: 'Height (cm)', min: 145, max: 200, decimals: 1 },
      { name: 'dmcomm', type: 'MEMO', label: 'Demographics comments' },
    ],
  },
  {
    key: 'VS',
    name: 'Vital Signs',
    type: 'Subject',
    variables: [
      { name: 'vsdtc', type: 'DATETIME', label: 'Date and time of measurement' },
      { name: 'sysbp', type: 'INTEGER', label: 'Systolic blood pressure (mmHg)', min: 90, max: 180 },
      { name: 'diabp', type: 'INTEGER', label: 'Diastolic blood pressure (mmHg)', min: 55, max: 110 },
      { name: 'pulse', type: 'INTEGER', label: 'Pulse (bpm)', min: 48, max: 120 },
      { name: 'temp', type: 'NUMBER', label: 'Temperature (C)', min: 35.8, max: 38.9, decimals: 1 },
      { name: 'weight', type: 'NUMBER', label: 'Weight (kg)', min: 45, max: 140, decimals: 1 },
      { name: 'vsperf', type: 'CHECKBOX', label: 'Vital signs performed' },
    ],
  },
  {
    key: 'LB',
    name: 'Laboratory Results',
    type: 'Subject',
    variables: [
      { name: 'lbdt', type: 'DATE', label: 'Date of sample' },
      { name: 'lbtm', type: 'TIME', label: 'Time of sample' },
      { name: 'hgb', type: 'NUMBER', label: 'Haemoglobin (g/dL)', min: 9, max: 18, decimals: 1 },
      { name: 'wbc', type: 'NUMBER', label: 'White blood cells (10^9/L)', min: 2.5, max: 14, decimals: 2 },
      { name: 'plt', type: 'INTEGER', label: 'Platelets (10^9/L)', min: 120, max: 450 },
      { name: 'lbclsig', type: 'RADIO', label: 'Clinically significant?', choices: YES_NO },
      { name: 'lbcomm', type: 'MEMO', label: 'Laboratory comments' },
    ],
  },
  {
    key: 'AE',
    name: 'Adverse Event',
    type: 'Subject',
    log: true,
    variables: [
      { name: 'aeterm', type: 'TEXT', label: 'Adverse event term', words: AE_TERMS.map((t) => t[0]) },
      { name: 'aestdt', type: 'DATE', label: 'Start date' },
      { name: 'aeendt', type: 'DATE', label: 'End date' },
      { name: 'aesev', type: 'RADIO', label: 'Severity', choices: ['1', '2', '3'] },
      { name: 'aeser', type: 'RADIO', label: 'Serious?', choices: YES_NO },
      { name: 'aerel', type: 'DROPDOWN', label: 'Relationship to study drug', choices: ['1', '2', '3', '4'] },
      { name: 'aeongo', type: 'CHECKBOX', label: 'Ongoing' },
      { name: 'aedesc', type: 'MEMO', label: 'Description' },
    ],
  },
  {
    key: 'CM',
    name: 'Concomitant Medication',
    type: 'Subject',
    log: true,
    variables: [
      { name: 'cmtrt', type: 'TEXT', label: 'Medication name', words: CM_TERMS.map((t) => t[0]) },
      { name: 'cmdose', type: 'NUMBER', label: 'Dose', min: 1, max: 1000, decimals: 0 },
      { name: 'cmdosu', type: 'DROPDOWN', label: 'Dose unit', choices: ['mg', 'g', 'mL', 'IU'] },
      { name: 'cmroute', type: 'DROPDOWN', label: 'Route', choices: ['ORAL', 'IV', 'TOPICAL', 'SC'] },
      { name: 'cmstdt', type: 'DATE', label: 'Start date' },
      { name: 'cmongo', type: 'CHECKBOX', label: 'Ongoing' },
    ],
  },
  {
    key: 'MH',
    name: 'Medical History',
    type: 'Subject',
    variables: [
      { name: 'mhterm', type: 'TEXT', label: 'Condition', words: MH_TERMS },
      { name: 'mhstdt', type: 'DATE', label: 'Onset date' },
      { name: 'mhongo', type: 'CHECKBOX', label: 'Ongoing' },
    ],
  },
  {
    key: 'EX',
    name: 'Study Drug Exposure',
    type: 'Subject',
    variables: [
      { name: 'exdt', type: 'DATE', label: 'Dose date' },
      { name: 'extm', type: 'TIME', label: 'Dose time' },
      {
        name: 'exdose',
        type: 'NUMBER',
        label: 'Dose administered (mg)',
        min: 5,
        max: 50,
        decimals: 0,
        blinded: true,
      },
    ],
  },
  {
    key: 'EOS',
    name: 'End of Study',
    type: 'Subject',
    variables: [
      { name: 'eosdt', type: 'DATE', label: 'Date of completion or discontinuation' },
      {
        name: 'eosreas',
        type: 'DROPDOWN',
        label: 'Reason',
        choices: ['COMPLETED', 'WITHDREW', 'LOST', 'AE'],
      },
      { name: 'eoscomm', type: 'MEMO', label: 'Comments' },
    ],
  },
  {
    key: 'OLDVS',
    name: 'Vital Signs (retired)',
    type: 'Subject',
    retired: true,
    variables: [{ name: 'oldtemp', type: 'NUMBER', label: 'Temperature (F)', retired: true }],
  },
];

/** Intervals of the fake study, in schedule order. */
export const INTERVALS: readonly IntervalBlueprint[] = [
  {
    name: 'Registration',
    description: 'Subject registration',
    sequence: 10,
    group: 'Enrollment',
    forms: ['REG'],
    dueDays: 0,
    slack: 0,
    timeline: 'None',
    weight: 0,
  },
  {
    name: 'Screening',
    description: 'Screening visit',
    sequence: 20,
    group: 'Enrollment',
    forms: ['DM', 'MH', 'VS', 'LB'],
    dueDays: 0,
    slack: 7,
    timeline: 'Due Date',
    weight: 4,
  },
  {
    name: 'Day 1',
    description: 'First dose',
    sequence: 30,
    group: 'Treatment',
    forms: ['VS', 'LB', 'EX'],
    dueDays: 7,
    slack: 2,
    timeline: 'Due Date',
    weight: 3,
  },
  {
    name: 'Week 2',
    description: 'Week 2 visit',
    sequence: 40,
    group: 'Treatment',
    forms: ['VS', 'EX'],
    dueDays: 21,
    slack: 3,
    timeline: 'Due Date',
    weight: 2,
  },
  {
    name: 'Week 4',
    description: 'Week 4 visit',
    sequence: 50,
    group: 'Treatment',
    forms: ['VS', 'LB', 'EX'],
    dueDays: 35,
    slack: 3,
    timeline: 'Start Date End Date',
    weight: 3,
  },
  {
    name: 'Week 8',
    description: 'Week 8 visit',
    sequence: 60,
    group: 'Treatment',
    forms: ['VS', 'LB', 'EX'],
    dueDays: 63,
    slack: 5,
    timeline: 'Start Date End Date',
    weight: 3,
  },
  {
    name: 'Week 12',
    description: 'Week 12 follow-up',
    sequence: 70,
    group: 'Follow-up',
    forms: ['VS', 'LB'],
    dueDays: 91,
    slack: 7,
    timeline: 'Actual Date',
    weight: 2,
  },
  {
    name: 'End of Study',
    description: 'End of study',
    sequence: 80,
    group: 'Follow-up',
    forms: ['EOS', 'VS'],
    dueDays: 120,
    slack: 14,
    timeline: 'Actual Date',
    weight: 1,
  },
  {
    name: 'Logs',
    description: 'Adverse events and medications',
    sequence: 90,
    group: 'Logs',
    forms: ['AE', 'CM'],
    dueDays: 0,
    slack: 0,
    timeline: 'None',
    weight: 5,
  },
  {
    name: 'Legacy Visit',
    description: 'Retired visit',
    sequence: 99,
    group: 'Legacy',
    forms: ['OLDVS'],
    dueDays: 14,
    slack: 2,
    timeline: 'Due Date',
    retired: true,
    weight: 0,
  },
];

/** City names sites are named after. */
export const SITE_CITIES = [
  'Chicago',
  'Minneapolis',
  'Boston',
  'Denver',
  'Seattle',
  'Austin',
  'Toronto',
  'London',
  'Lyon',
  'Munich',
  'Madrid',
  'Oslo',
  'Sydney',
  'Osaka',
];

/** Given names for users. */
export const FIRST_NAMES = [
  'Ada',
  'Ben',
  'Chloe',
  'David',
  'Elena',
  'Farid',
  'Grace',
  'Hiro',
  'Ines',
  'Jonas',
];
/** Family names for users. */
export const LAST_NAMES = ['Smith', 'Okafor', 'Novak', 'Garcia', 'Tanaka', 'Berg', 'Rossi', 'Dubois', 'Khan'];

/** Keywords that can tag subjects and records. */
export const KEYWORDS: readonly (readonly [string, string])[] = [
  ['Data Entry Error', 'DEE'],
  ['Source Verified', 'SDV'],
  ['Needs Review', 'REV'],
  ['Protocol Deviation', 'PD'],
];

/** Role names users can hold. */
export const ROLES = ['Research Coordinator', 'Investigator', 'Monitor', 'Data Manager', 'Medical Coder'];

/** Words for free-text answers. */
export const WORDS = [
  'patient',
  'reported',
  'mild',
  'improved',
  'after',
  'dose',
  'no',
  'change',
  'follow',
  'up',
  'visit',
  'stable',
  'noted',
  'by',
  'investigator',
  'resolved',
  'within',
  'two',
  'days',
];
