package eval

// domain is an occupational field of the synthetic data set: job titles,
// the skills of the field (canonical spelling) and the words its job
// descriptions and résumés use.
type domain struct {
	name   string
	titles []string
	skills []string
	words  []string
}

var domains = []domain{
	{
		name:   "data",
		titles: []string{"Data Analyst", "Statistical Officer", "Research Officer (Data)", "Assistant Director (Statistics)"},
		skills: []string{"sql", "python", "statistics", "excel", "postgresql", "data analysis", "power bi", "r",
			"spss", "stata", "survey design", "data visualization"},
		words: []string{"dataset", "regression", "dashboard", "indicators", "sampling", "census", "household", "survey",
			"database", "queries", "modelling", "trends", "forecasting", "analytics", "tabulation", "microdata"},
	},
	{
		name:   "civil",
		titles: []string{"Assistant Engineer (Civil)", "Sub Engineer", "Site Engineer", "Executive Engineer"},
		skills: []string{"autocad", "structural design", "surveying", "quantity surveying", "construction supervision",
			"cost estimation", "primavera", "road design", "concrete technology", "pc-1 preparation", "hydraulics",
			"geotechnical engineering"},
		words: []string{"bridges", "roads", "culverts", "drainage", "contractor", "site", "tender", "earthwork",
			"pavement", "irrigation", "canal", "foundations", "reinforcement", "measurement", "embankment", "barrage"},
	},
	{
		name:   "accounts",
		titles: []string{"Accounts Officer", "Assistant Accountant", "Audit Officer", "Budget Officer"},
		skills: []string{"accounting", "bookkeeping", "auditing", "taxation", "international financial reporting standards",
			"financial reporting", "budgeting", "sap", "excel", "payroll", "reconciliation", "public procurement"},
		words: []string{"ledger", "vouchers", "receipts", "expenditure", "audit", "fiscal", "treasury", "pension",
			"salary", "invoices", "statements", "balance", "appropriation", "cheques", "grants", "accounts"},
	},
	{
		name:   "it",
		titles: []string{"Software Engineer", "Network Administrator", "System Analyst", "Programmer"},
		skills: []string{"javascript", "go", "java", "linux", "networking", "docker", "kubernetes", "postgresql",
			"react", "git", "cybersecurity", "python"},
		words: []string{"servers", "deployment", "api", "backend", "frontend", "microservices", "firewall", "routers",
			"code", "applications", "cloud", "infrastructure", "uptime", "incidents", "portal", "automation"},
	},
	{
		name:   "admin",
		titles: []string{"Assistant", "Office Superintendent", "Data Entry Operator", "Stenotypist"},
		skills: []string{"microsoft office", "urdu typing", "inpage", "record keeping", "file management",
			"noting and drafting", "shorthand", "data entry", "correspondence", "excel", "communication skills", "filing"},
		words: []string{"files", "letters", "notifications", "minutes", "meetings", "diary", "dispatch", "office",
			"typing", "records", "circulars", "establishment", "summaries", "receipt", "section", "attendance"},
	},
	{
		name:   "health",
		titles: []string{"Staff Nurse", "Medical Officer", "Lady Health Supervisor", "Health Officer"},
		skills: []string{"patient care", "vaccination", "first aid", "maternal health", "infection control",
			"clinical assessment", "health education", "pharmacology", "emergency care", "community health",
			"nutrition", "epidemiology"},
		words: []string{"patients", "ward", "hospital", "clinic", "immunization", "child", "dispensary", "outbreak",
			"epidemic", "nursing", "vaccines", "hygiene", "maternity", "diagnosis", "treatment", "referral"},
	},
	{
		name:   "teaching",
		titles: []string{"Lecturer (English)", "Elementary School Teacher", "Subject Specialist", "Headmaster"},
		skills: []string{"lesson planning", "classroom management", "curriculum development", "student assessment",
			"english literature", "teaching", "mentoring", "educational technology", "mathematics", "research",
			"student counselling", "urdu literature"},
		words: []string{"students", "classes", "syllabus", "examinations", "school", "college", "pedagogy", "learning",
			"textbooks", "grades", "lectures", "literacy", "board", "enrolment", "teachers", "homework"},
	},
	{
		name:   "legal",
		titles: []string{"Legal Advisor", "Assistant Director (Law)", "Law Officer", "Deputy Solicitor"},
		skills: []string{"litigation", "legal drafting", "contract law", "constitutional law", "legal research",
			"service law", "arbitration", "criminal law", "legislative vetting", "court representation", "labour law",
			"land revenue law"},
		words: []string{"petitions", "court", "judgments", "tribunal", "appeals", "statutes", "ordinance", "notices",
			"contracts", "affidavits", "hearings", "writ", "proceedings", "advocate", "bench", "rules"},
	},
}

// genericWords appear in jobs and résumés of every field.
var genericWords = []string{"government", "department", "public", "service", "federal", "provincial", "officer",
	"experience", "responsible", "duties", "work", "team", "report", "management", "coordination", "support", "staff",
	"ministry", "organization", "performance", "quality", "planning", "implementation", "monitoring", "stakeholders",
	"communication", "ability", "excellent", "district", "projects"}

// urduFiller is romanised Urdu a candidate writes about themselves; it
// carries no evidence of a skill.
var urduFiller = []string{
	"Maine is idaray mein kaam kiya aur team ke saath reports tayyar ki.",
	"Mujhe sarkari idaron mein kaam ka tajurba hai.",
	"Main mehnati aur imandar hoon aur waqt ki pabandi karta hoon.",
	"Apne mulk aur awam ki khidmat karna chahta hoon.",
	"Har zimmedari ko puri lagan se nibhaya.",
}

// variants are other spellings a candidate writes for a skill. The first
// group are in the model's synonym table; the second ("unknown") are not,
// so the model misses them: the data set is not tailored to the model.
var variants = map[string][]string{
	"excel":                {"MS Excel", "Microsoft Excel"},
	"postgresql":           {"Postgres"},
	"javascript":           {"JS"},
	"go":                   {"Golang"},
	"data analysis":        {"Data Analytics"},
	"statistics":           {"Statistical Analysis"},
	"accounting":           {"Accounts"},
	"bookkeeping":          {"Book Keeping"},
	"microsoft office":     {"MS Office"},
	"shorthand":            {"Stenography"},
	"communication skills": {"Communication"},
	"kubernetes":           {"K8s"},
	"international financial reporting standards": {"IFRS"},
	"public procurement":                          {"PPRA Rules"},
}

var unknownVariants = map[string][]string{
	"excel":                  {"Spreadsheets"},
	"data analysis":          {"Analysing data"},
	"autocad":                {"CAD drafting"},
	"vaccination":            {"EPI campaigns"},
	"teaching":               {"Instruction"},
	"litigation":             {"Case handling"},
	"networking":             {"LAN/WAN"},
	"payroll":                {"Salary processing"},
	"data entry":             {"Computer operation"},
	"curriculum development": {"Syllabus design"},
}
