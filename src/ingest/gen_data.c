/* Data tables of the builtin generator (see gen_data.h). Names were chosen to exercise what
 * breaks naive code: several scripts (Latin with diacritics, Cyrillic, Greek, Persian, CJK,
 * Hangul), apostrophes (O'Brien, 't Hart, В'ячеслав, Côte d'Azur), hyphens, spaces, and
 * postcodes that are numbers in some countries and alphanumeric strings in others. */
#include "ingest/gen_data.h"

/* clang-format off */
#define N(s)    {s, NULL, sizeof(s) - 1}
#define L(s, l) {s, l, sizeof(s) - 1}
#define S(s)    {s, sizeof(s) - 1}
#define P(c, s) {c, s, sizeof(c) - 1, sizeof(s) - 1}
/* clang-format on */
#define COUNT(a) ((unsigned)(sizeof(a) / sizeof((a)[0])))
/* clang-format off */
#define NAT(code, country, pfx, post, num, phone, cell, tzo, tzd)                              \
    {code, country, sizeof(country) - 1, pfx##_male, pfx##_female, pfx##_last,                \
     COUNT(pfx##_male), COUNT(pfx##_female), COUNT(pfx##_last), pfx##_places,                  \
     COUNT(pfx##_places), pfx##_streets, COUNT(pfx##_streets), post, num, phone, cell, tzo, tzd}
/* clang-format on */

static const gen_str en_streets[] = {
    S("Main Street"),  S("Station Road"), S("Church Lane"), S("Victoria Road"), S("Green Lane"),
    S("Oak Ridge Ln"), S("Maple Ave"),    S("Lakeview Dr"), S("Pine Rd"),       S("Park Avenue"),
};

/* ---- United States ---- */
static const gen_name us_male[] = {N("James"),   N("Michael"), N("Robert"),    N("David"),
                                   N("William"), N("Jayden"),  N("Billy-Ray"), N("Tyrone")};
static const gen_name us_female[] = {N("Mary-Kate"), N("Jennifer"), N("Linda"),   N("Ashley"),
                                     N("Brittany"),  N("Shanice"),  N("Madison"), N("Ella")};
static const gen_name us_last[] = {N("Smith"),      N("Johnson"), N("Williams"), N("Brown"),
                                   N("D'Angelo"),   N("O'Neal"),  N("Garcia"),   N("Nguyen"),
                                   N("Washington"), N("Lee")};
static const gen_place us_places[] = {P("Seattle", "Washington"), P("Austin", "Texas"),
                                      P("Denver", "Colorado"),    P("Portland", "Oregon"),
                                      P("Miami", "Florida"),      P("Coeur d'Alene", "Idaho")};
#define us_streets en_streets

/* ---- United Kingdom ---- */
static const gen_name gb_male[] = {N("Oliver"),  N("Harry"),  N("George"), N("Jack"),
                                   N("Charlie"), N("Thomas"), N("Rhys")};
static const gen_name gb_female[] = {N("Olivia"), N("Amelia"), N("Isla"), N("Ava"),
                                     N("Emily"),  N("Sophie"), N("Siân")};
static const gen_name gb_last[] = {N("Smith"),   N("Taylor"), N("Evans"),       N("Thomas"),
                                   N("Roberts"), N("Wright"), N("Smith-Jones"), N("ap Rhys")};
static const gen_place gb_places[] = {
    P("London", "Greater London"), P("Manchester", "Greater Manchester"),
    P("Leeds", "West Yorkshire"),  P("Bristol", "Bristol"),
    P("Edinburgh", "Lothian"),     P("Bishop's Stortford", "Hertfordshire")};
#define gb_streets en_streets

/* ---- Australia ---- */
static const gen_name au_male[] = {N("Jack"),   N("Noah"),  N("Lachlan"),
                                   N("Cooper"), N("Riley"), N("Liam")};
static const gen_name au_female[] = {N("Charlotte"), N("Chloe"), N("Mia"),
                                     N("Grace"),     N("Ruby"),  N("Zoe")};
static const gen_name au_last[] = {N("Smith"),  N("Jones"),  N("Williams"), N("Brown"),
                                   N("Wilson"), N("Nguyen"), N("Kelly"),    N("Murphy")};
static const gen_place au_places[] = {P("Sydney", "New South Wales"), P("Melbourne", "Victoria"),
                                      P("Brisbane", "Queensland"), P("Perth", "Western Australia"),
                                      P("Hobart", "Tasmania")};
#define au_streets en_streets

/* ---- Canada ---- */
static const gen_name ca_male[] = {N("Liam"),  N("Noah"),   N("Ethan"),
                                   N("Lucas"), N("Mathis"), L("Félix", "felix")};
static const gen_name ca_female[] = {N("Emma"),   L("Léa", "lea"), L("Chloé", "chloe"),
                                     N("Olivia"), N("Charlotte"),  N("Marie-Ève")};
static const gen_name ca_last[] = {N("Tremblay"), N("Gagnon"),    N("Roy"),    L("Côté", "cote"),
                                   N("Bouchard"), N("MacDonald"), N("Wilson"), N("Martin")};
static const gen_place ca_places[] = {P("Toronto", "Ontario"), P("Montréal", "Québec"),
                                      P("Vancouver", "British Columbia"), P("Calgary", "Alberta"),
                                      P("Halifax", "Nova Scotia")};
static const gen_str ca_streets[] = {S("King St"), S("Rue Sainte-Catherine"), S("Yonge St"),
                                     S("Robson St"), S("Rue Saint-Denis")};

/* ---- New Zealand ---- */
static const gen_name nz_male[] = {N("Oliver"), N("Jack"), N("Hunter"),
                                   N("Nikau"),  N("Tama"), N("Leo")};
static const gen_name nz_female[] = {N("Isla"), N("Aroha"), N("Olivia"),
                                     N("Ruby"), N("Mia"),   N("Ana")};
static const gen_name nz_last[] = {N("Wilson"), N("Smith"),  N("Ngata"),    N("Parata"),
                                   N("Taylor"), N("Walker"), N("Te Whata"), N("Thompson")};
static const gen_place nz_places[] = {P("Auckland", "Auckland"), P("Wellington", "Wellington"),
                                      P("Christchurch", "Canterbury"), P("Dunedin", "Otago"),
                                      P("Hamilton", "Waikato")};
#define nz_streets en_streets

/* ---- Ireland ---- */
static const gen_name ie_male[] = {L("Seán", "sean"), N("Conor"),   L("Oisín", "oisin"),
                                   N("Cian"),         N("Darragh"), L("Pádraig", "padraig")};
static const gen_name ie_female[] = {N("Aoife"),   L("Siobhán", "siobhan"), N("Niamh"),
                                     N("Saoirse"), L("Róisín", "roisin"),   N("Ciara")};
static const gen_name ie_last[] = {N("O'Brien"),  N("O'Sullivan"), N("Murphy"),  N("Kelly"),
                                   N("O'Connor"), N("McCarthy"),   N("O'Neill"), N("Mac Giolla")};
static const gen_place ie_places[] = {P("Dublin", "Dublin"), P("Cork", "Cork"),
                                      P("Galway", "Galway"), P("Limerick", "Limerick"),
                                      P("Kilkenny", "Kilkenny")};
static const gen_str ie_streets[] = {S("Main Street"), S("O'Connell Street"), S("Grafton Street"),
                                     S("Church Road"), S("Patrick Street")};

/* ---- France ---- */
static const gen_name fr_male[] = {N("Jean-Pierre"),      N("Louis"), N("Lucas"),
                                   L("Mathéo", "matheo"), N("Hugo"),  N("Jean-Luc")};
static const gen_name fr_female[] = {N("Marie-Claire"), L("Léa", "lea"),  L("Chloé", "chloe"),
                                     N("Manon"),        N("Anne-Sophie"), L("Inès", "ines")};
static const gen_name fr_last[] = {
    N("Martin"),   N("Bernard"),  N("Dubois"), L("Lefèvre", "lefevre"),
    N("Da Silva"), N("D'Artois"), N("Girard"), N("Moreau")};
static const gen_place fr_places[] = {P("Paris", "Île-de-France"),
                                      P("Lyon", "Auvergne-Rhône-Alpes"),
                                      P("Marseille", "Provence-Alpes-Côte d'Azur"),
                                      P("Toulouse", "Occitanie"), P("Nantes", "Pays de la Loire")};
static const gen_str fr_streets[] = {S("Rue de l'Église"), S("Rue de la République"),
                                     S("Avenue Jean-Jaurès"), S("Place du Marché"),
                                     S("Rue Victor-Hugo")};

/* ---- Germany ---- */
static const gen_name de_male[] = {N("Lukas"),      L("Jürgen", "juergen"),
                                   N("Maximilian"), L("Jörg", "joerg"),
                                   N("Felix"),      N("Karl-Heinz")};
static const gen_name de_female[] = {N("Sophie"),          N("Anna"),  N("Lena"),
                                     L("Käthe", "kaethe"), N("Marie"), N("Hannah")};
static const gen_name de_last[] = {L("Müller", "mueller"), N("Schmidt"),
                                   N("Schneider"),         N("Fischer"),
                                   L("Weiß", "weiss"),     L("Schäfer", "schaefer"),
                                   N("Meyer-Lindenberg"),  N("Becker")};
static const gen_place de_places[] = {P("Berlin", "Berlin"), P("München", "Bayern"),
                                      P("Hamburg", "Hamburg"), P("Köln", "Nordrhein-Westfalen"),
                                      P("Dresden", "Sachsen")};
static const gen_str de_streets[] = {S("Hauptstraße"), S("Schulstraße"), S("Gartenstraße"),
                                     S("Bahnhofstraße"), S("Lindenstraße")};

/* ---- Switzerland ---- */
static const gen_name ch_male[] = {N("Luca"),      N("Noah"),   L("Léon", "leon"),
                                   N("Gian-Luca"), N("Matteo"), N("Elias")};
static const gen_name ch_female[] = {N("Mia"),   N("Lara"),           N("Chiara"),
                                     N("Elena"), L("Anaïs", "anais"), N("Nina")};
static const gen_name ch_last[] = {L("Müller", "mueller"),
                                   N("Meier"),
                                   N("Schmid"),
                                   N("Keller"),
                                   N("Weber"),
                                   N("Favre"),
                                   N("Rossi"),
                                   L("Bühler", "buehler")};
static const gen_place ch_places[] = {P("Zürich", "Zürich"), P("Genève", "Genève"),
                                      P("Basel", "Basel-Stadt"), P("Bern", "Bern"),
                                      P("Lugano", "Ticino")};
static const gen_str ch_streets[] = {S("Bahnhofstrasse"), S("Rue du Rhône"), S("Via Nassa"),
                                     S("Dorfstrasse"), S("Kirchweg")};

/* ---- Netherlands ---- */
static const gen_name nl_male[] = {N("Daan"),  N("Sem"),   N("Bram"),
                                   N("Jesse"), N("Thijs"), N("Lars")};
static const gen_name nl_female[] = {N("Emma"), N("Julia"), N("Sophie"),
                                     N("Tess"), N("Fenna"), N("Noor")};
static const gen_name nl_last[] = {N("de Jong"),  N("Jansen"), N("de Vries"), N("van den Berg"),
                                   N("van Dijk"), N("Bakker"), N("Visser"),   N("'t Hart")};
static const gen_place nl_places[] = {
    P("Amsterdam", "Noord-Holland"), P("Rotterdam", "Zuid-Holland"), P("Utrecht", "Utrecht"),
    P("Groningen", "Groningen"), P("'s-Hertogenbosch", "Noord-Brabant")};
static const gen_str nl_streets[] = {S("Kerkstraat"), S("Dorpsstraat"), S("Molenweg"),
                                     S("Stationsweg"), S("Prinsengracht")};

/* ---- Norway ---- */
static const gen_name no_male[] = {
    N("Ola"), N("Magnus"), N("Sindre"), L("Håkon", "haakon"), L("Jørgen", "joergen"), N("Emil")};
static const gen_name no_female[] = {N("Ingrid"), N("Sigrid"),  L("Åse", "aase"),
                                     N("Marte"),  N("Solveig"), N("Nora")};
static const gen_name no_last[] = {
    N("Hansen"), N("Johansen"),          N("Olsen"), N("Larsen"), N("Berg"),
    N("Haugen"), L("Sæther", "saether"), N("Bakke")};
static const gen_place no_places[] = {P("Oslo", "Oslo"), P("Bergen", "Vestland"),
                                      P("Trondheim", "Trøndelag"), P("Stavanger", "Rogaland"),
                                      P("Tromsø", "Troms")};
static const gen_str no_streets[] = {S("Storgata"), S("Kirkeveien"), S("Skolegata"),
                                     S("Fjordveien"), S("Bjørkeveien")};

/* ---- Denmark ---- */
static const gen_name dk_male[] = {N("Frederik"), N("Mads"),   L("Søren", "soeren"),
                                   N("Rasmus"),   N("Mikkel"), N("Asger")};
static const gen_name dk_female[] = {N("Freja"), N("Ida"),    N("Mathilde"),
                                     N("Sofie"), N("Astrid"), N("Signe")};
static const gen_name dk_last[] = {N("Jensen"),
                                   N("Nielsen"),
                                   N("Hansen"),
                                   N("Pedersen"),
                                   N("Andersen"),
                                   N("Christensen"),
                                   L("Sørensen", "soerensen"),
                                   L("Møller", "moeller")};
static const gen_place dk_places[] = {P("København", "Hovedstaden"), P("Aarhus", "Midtjylland"),
                                      P("Odense", "Syddanmark"), P("Aalborg", "Nordjylland"),
                                      P("Roskilde", "Sjælland")};
static const gen_str dk_streets[] = {S("Østergade"), S("Vestergade"), S("Nørregade"),
                                     S("Søndergade"), S("Strandvejen")};

/* ---- Finland ---- */
static const gen_name fi_male[] = {N("Eino"),   L("Väinö", "vaino"), N("Onni"),
                                   N("Aleksi"), N("Juho"),           N("Eetu")};
static const gen_name fi_female[] = {N("Aino"), N("Helmi"), N("Siiri"),
                                     N("Ella"), N("Sanni"), N("Pihla")};
static const gen_name fi_last[] = {
    N("Korhonen"), N("Virtanen"),         L("Mäkinen", "makinen"),
    N("Nieminen"), L("Mäkelä", "makela"), L("Hämäläinen", "hamalainen"),
    N("Laine"),    N("Heikkinen")};
static const gen_place fi_places[] = {P("Helsinki", "Uusimaa"), P("Tampere", "Pirkanmaa"),
                                      P("Turku", "Varsinais-Suomi"), P("Oulu", "Pohjois-Pohjanmaa"),
                                      P("Espoo", "Uusimaa")};
static const gen_str fi_streets[] = {S("Hämeenkatu"), S("Aleksanterinkatu"), S("Mannerheimintie"),
                                     S("Pispalan valtatie"), S("Satakunnankatu")};

/* ---- Spain ---- */
static const gen_name es_male[] = {
    N("Alejandro"),        N("Hugo"),  N("Pablo"), L("José María", "josemaria"),
    L("Álvaro", "alvaro"), N("Sergio")};
static const gen_name es_female[] = {
    L("Lucía", "lucia"), L("María José", "mariajose"), N("Paula"),
    N("Nuria"),          L("Begoña", "begona"),        N("Ainhoa")};
static const gen_name es_last[] = {L("García", "garcia"),   L("Fernández", "fernandez"),
                                   L("López", "lopez"),     L("Martínez", "martinez"),
                                   L("Sánchez", "sanchez"), L("Pérez", "perez"),
                                   L("Gómez", "gomez"),     L("Muñoz", "munoz")};
static const gen_place es_places[] = {
    P("Madrid", "Comunidad de Madrid"), P("Barcelona", "Cataluña"), P("Sevilla", "Andalucía"),
    P("Valencia", "Comunidad Valenciana"), P("Bilbao", "País Vasco")};
static const gen_str es_streets[] = {S("Calle Mayor"), S("Calle de Alcalá"),
                                     S("Avenida de América"), S("Calle del Prado"),
                                     S("Paseo de Gracia")};

/* ---- Mexico ---- */
static const gen_name mx_male[] = {N("Santiago"), N("Mateo"),    N("Diego"),
                                   N("Emiliano"), N("Leonardo"), L("Sebastián", "sebastian")};
static const gen_name mx_female[] = {N("Ximena"), N("Valentina"), N("Regina"),
                                     N("Camila"), N("Renata"),    N("Guadalupe")};
static const gen_name mx_last[] = {L("Hernández", "hernandez"), L("García", "garcia"),
                                   L("Martínez", "martinez"),   L("López", "lopez"),
                                   L("González", "gonzalez"),   L("Rodríguez", "rodriguez"),
                                   L("Ramírez", "ramirez"),     N("Flores")};
static const gen_place mx_places[] = {P("Ciudad de México", "Ciudad de México"),
                                      P("Guadalajara", "Jalisco"), P("Monterrey", "Nuevo León"),
                                      P("Puebla", "Puebla"), P("Mérida", "Yucatán")};
static const gen_str mx_streets[] = {S("Avenida Reforma"), S("Calle Morelos"), S("Calle Hidalgo"),
                                     S("Avenida Juárez"), S("Calle Allende")};

/* ---- Brazil ---- */
static const gen_name br_male[] = {L("João", "joao"), N("Pedro"),  N("Gabriel"),
                                   N("Lucas"),        N("Thiago"), N("Matheus")};
static const gen_name br_female[] = {L("Ana Júlia", "anajulia"), N("Beatriz"),        N("Larissa"),
                                     L("Letícia", "leticia"),    L("Júlia", "julia"), N("Isabela")};
static const gen_name br_last[] = {
    N("Silva"),   N("Santos"), N("Oliveira"),         N("Souza"),
    N("Pereira"), N("Costa"),  L("Araújo", "araujo"), L("Gonçalves", "goncalves")};
static const gen_place br_places[] = {
    P("São Paulo", "São Paulo"), P("Rio de Janeiro", "Rio de Janeiro"),
    P("Belo Horizonte", "Minas Gerais"), P("Salvador", "Bahia"), P("Curitiba", "Paraná")};
static const gen_str br_streets[] = {S("Rua São João"), S("Avenida Paulista"), S("Rua das Flores"),
                                     S("Rua Sete de Setembro"), S("Avenida Brasil")};

/* ---- Turkey ---- */
static const gen_name tr_male[] = {N("Mehmet"), N("Mustafa"), N("Ahmet"),
                                   N("Emre"),   N("Burak"),   L("Çağrı", "cagri")};
static const gen_name tr_female[] = {L("Ayşe", "ayse"), N("Fatma"),        N("Zeynep"),
                                     N("Elif"),         L("Şule", "sule"), L("Gülşen", "gulsen")};
static const gen_name tr_last[] = {
    L("Yılmaz", "yilmaz"), N("Kaya"),           N("Demir"),
    L("Şahin", "sahin"),   L("Çelik", "celik"), L("Yıldız", "yildiz"),
    L("Öztürk", "ozturk"), L("Aydın", "aydin")};
static const gen_place tr_places[] = {P("İstanbul", "İstanbul"), P("Ankara", "Ankara"),
                                      P("İzmir", "İzmir"), P("Bursa", "Bursa"),
                                      P("Antalya", "Antalya")};
static const gen_str tr_streets[] = {S("Atatürk Cd"), S("İstiklal Cd"), S("Cumhuriyet Cd"),
                                     S("Bağdat Cd"), S("Kıbrıs Şehitleri Cd")};

/* ---- India ---- */
static const gen_name in_male[] = {N("Aarav"), N("Vihaan"), N("Arjun"),
                                   N("Rohan"), N("Sai"),    N("Ishaan")};
static const gen_name in_female[] = {N("Aadhya"), N("Ananya"), N("Diya"),
                                     N("Priya"),  N("Saanvi"), N("Kavya")};
static const gen_name in_last[] = {N("Sharma"), N("Patel"), N("Reddy"), N("Iyer"),
                                   N("Nair"),   N("Gupta"), N("Singh"), N("D'Souza")};
static const gen_place in_places[] = {P("Mumbai", "Maharashtra"), P("Bengaluru", "Karnataka"),
                                      P("Chennai", "Tamil Nadu"), P("Kolkata", "West Bengal"),
                                      P("Jaipur", "Rajasthan")};
static const gen_str in_streets[] = {S("MG Road"), S("Park Street"), S("Brigade Road"),
                                     S("Linking Road"), S("Station Road")};

/* ---- Iran (Persian script) ---- */
static const gen_name ir_male[] = {L("آرمین", "armin"), L("علی", "ali"),   L("محمد", "mohammad"),
                                   L("رضا", "reza"),    L("امیر", "amir"), L("حسین", "hossein")};
static const gen_name ir_female[] = {L("نازنین", "nazanin"),  L("زهرا", "zahra"),
                                     L("مریم", "maryam"),     L("سارا", "sara"),
                                     L("نیلوفر", "niloufar"), L("فاطمه", "fatemeh")};
static const gen_name ir_last[] = {
    L("احمدی", "ahmadi"),   L("محمدی", "mohammadi"), L("رضایی", "rezaei"), L("کریمی", "karimi"),
    L("حسینی", "hosseini"), L("موسوی", "mousavi"),   L("جعفری", "jafari"), L("صادقی", "sadeghi")};
static const gen_place ir_places[] = {P("تهران", "تهران"), P("اصفهان", "اصفهان"),
                                      P("شیراز", "فارس"), P("مشهد", "خراسان رضوی"),
                                      P("تبریز", "آذربایجان شرقی")};
static const gen_str ir_streets[] = {S("ولیعصر"), S("انقلاب"), S("آزادی"), S("شهید بهشتی"),
                                     S("فردوسی")};

/* ---- Ukraine (Cyrillic) ---- */
static const gen_name ua_male[] = {L("Олег", "oleg"),     L("Андрій", "andriy"),
                                   L("Тарас", "taras"),   L("Богдан", "bohdan"),
                                   L("Максим", "maksym"), L("В'ячеслав", "vyacheslav")};
static const gen_name ua_female[] = {L("Олена", "olena"),  L("Оксана", "oksana"),
                                     L("Ірина", "iryna"),  L("Наталія", "nataliya"),
                                     L("Софія", "sofiya"), L("Марія", "mariya")};
static const gen_name ua_last[] = {L("Коваленко", "kovalenko"),   L("Шевченко", "shevchenko"),
                                   L("Бондаренко", "bondarenko"), L("Ткаченко", "tkachenko"),
                                   L("Кравченко", "kravchenko"),  L("Мельник", "melnyk"),
                                   L("Олійник", "oliynyk"),       L("Бойко", "boyko")};
static const gen_place ua_places[] = {P("Київ", "Київська"), P("Львів", "Львівська"),
                                      P("Одеса", "Одеська"), P("Харків", "Харківська"),
                                      P("Дніпро", "Дніпропетровська")};
static const gen_str ua_streets[] = {S("Хрещатик"), S("Шевченка"), S("Франка"), S("Сагайдачного"),
                                     S("Грушевського")};

/* ---- Serbia (Cyrillic) ---- */
static const gen_name rs_male[] = {L("Милош", "milos"), L("Никола", "nikola"), L("Душан", "dusan"),
                                   L("Марко", "marko"), L("Стефан", "stefan"), L("Лука", "luka")};
static const gen_name rs_female[] = {L("Јелена", "jelena"), L("Милица", "milica"),
                                     L("Ана", "ana"),       L("Драгана", "dragana"),
                                     L("Тијана", "tijana"), L("Марија", "marija")};
static const gen_name rs_last[] = {L("Јовановић", "jovanovic"), L("Петровић", "petrovic"),
                                   L("Николић", "nikolic"),     L("Марковић", "markovic"),
                                   L("Ђорђевић", "djordjevic"), L("Стојановић", "stojanovic"),
                                   L("Илић", "ilic"),           L("Павловић", "pavlovic")};
static const gen_place rs_places[] = {P("Београд", "Град Београд"), P("Нови Сад", "Јужнобачки"),
                                      P("Ниш", "Нишавски"), P("Крагујевац", "Шумадијски"),
                                      P("Суботица", "Севернобачки")};
static const gen_str rs_streets[] = {S("Кнеза Михаила"), S("Булевар ослобођења"), S("Немањина"),
                                     S("Цара Душана"), S("Краља Петра")};

/* ---- Greece (Greek) ---- */
static const gen_name gr_male[] = {L("Γιώργος", "giorgos"),   L("Νίκος", "nikos"),
                                   L("Δημήτρης", "dimitris"), L("Κώστας", "kostas"),
                                   L("Γιάννης", "giannis"),   L("Αλέξανδρος", "alexandros")};
static const gen_name gr_female[] = {L("Μαρία", "maria"),       L("Ελένη", "eleni"),
                                     L("Κατερίνα", "katerina"), L("Σοφία", "sofia"),
                                     L("Δέσποινα", "despoina"), L("Αικατερίνη", "aikaterini")};
static const gen_name gr_last[] = {L("Παπαδόπουλος", "papadopoulos"), L("Παπαδάκης", "papadakis"),
                                   L("Γεωργίου", "georgiou"),         L("Οικονόμου", "oikonomou"),
                                   L("Νικολάου", "nikolaou"),         L("Βασιλείου", "vasileiou"),
                                   L("Καραγιάννης", "karagiannis"),   L("Μακρής", "makris")};
static const gen_place gr_places[] = {P("Αθήνα", "Αττική"), P("Θεσσαλονίκη", "Κεντρική Μακεδονία"),
                                      P("Πάτρα", "Δυτική Ελλάδα"), P("Ηράκλειο", "Κρήτη"),
                                      P("Λάρισα", "Θεσσαλία")};
static const gen_str gr_streets[] = {S("Ερμού"), S("Πανεπιστημίου"), S("Σταδίου"), S("Ακαδημίας"),
                                     S("Τσιμισκή")};

/* ---- Japan ---- */
static const gen_name jp_male[] = {L("翔太", "shota"),  L("大輔", "daisuke"), L("健", "ken"),
                                   L("拓海", "takumi"), L("蓮", "ren"),       L("悠真", "yuma")};
static const gen_name jp_female[] = {L("さくら", "sakura"), L("陽菜", "hina"), L("結衣", "yui"),
                                     L("美咲", "misaki"),   L("葵", "aoi"),    L("花子", "hanako")};
static const gen_name jp_last[] = {
    L("佐藤", "sato"), L("鈴木", "suzuki"),   L("高橋", "takahashi"), L("田中", "tanaka"),
    L("伊藤", "ito"),  L("渡辺", "watanabe"), L("山本", "yamamoto"),  L("中村", "nakamura")};
static const gen_place jp_places[] = {P("新宿区", "東京都"), P("大阪市", "大阪府"),
                                      P("横浜市", "神奈川県"), P("名古屋市", "愛知県"),
                                      P("札幌市", "北海道")};
static const gen_str jp_streets[] = {S("中央通り"), S("桜通り"), S("本町"), S("銀座"), S("栄町")};

/* ---- South Korea (Hangul) ---- */
static const gen_name kr_male[] = {L("민준", "minjun"), L("서준", "seojun"),  L("도윤", "doyun"),
                                   L("지호", "jiho"),   L("현우", "hyunwoo"), L("준서", "junseo")};
static const gen_name kr_female[] = {L("서연", "seoyeon"), L("지우", "jiwoo"), L("하은", "haeun"),
                                     L("민서", "minseo"),  L("수아", "sua"),   L("지민", "jimin")};
static const gen_name kr_last[] = {L("김", "kim"),  L("이", "lee"),  L("박", "park"),
                                   L("최", "choi"), L("정", "jung"), L("강", "kang"),
                                   L("조", "cho"),  L("윤", "yoon")};
static const gen_place kr_places[] = {P("서울", "서울특별시"), P("부산", "부산광역시"),
                                      P("인천", "인천광역시"), P("대구", "대구광역시"),
                                      P("수원", "경기도")};
static const gen_str kr_streets[] = {S("세종대로"), S("테헤란로"), S("강남대로"), S("을지로"),
                                     S("해운대로")};

/* ---- China ---- */
static const gen_name cn_male[] = {L("伟", "wei"), L("强", "qiang"), L("磊", "lei"),
                                   L("军", "jun"), L("杰", "jie"),   L("浩然", "haoran")};
static const gen_name cn_female[] = {L("芳", "fang"), L("娜", "na"),        L("敏", "min"),
                                     L("静", "jing"), L("秀英", "xiuying"), L("婷", "ting")};
static const gen_name cn_last[] = {L("王", "wang"),  L("李", "li"),   L("张", "zhang"),
                                   L("刘", "liu"),   L("陈", "chen"), L("杨", "yang"),
                                   L("黄", "huang"), L("赵", "zhao")};
static const gen_place cn_places[] = {P("北京", "北京市"), P("上海", "上海市"), P("广州", "广东省"),
                                      P("成都", "四川省"), P("杭州", "浙江省")};
static const gen_str cn_streets[] = {S("长安街"), S("南京路"), S("中山路"), S("人民路"),
                                     S("解放路")};

const gen_nat gen_nats[] = {
    NAT("US", "United States", us, "N####", true, "(###) ###-####", "(###) ###-####", "-7:00",
        "Mountain Time (US & Canada)"),
    NAT("GB", "United Kingdom", gb, "AA# #AA", false, "0### ### ####", "07### ######", "0:00",
        "Western Europe Time, London, Lisbon, Casablanca"),
    NAT("AU", "Australia", au, "N###", true, "0#-####-####", "04##-###-###", "+10:00",
        "Eastern Australia, Guam, Vladivostok"),
    NAT("CA", "Canada", ca, "A#A #A#", false, "N##-###-####", "N##-###-####", "-5:00",
        "Eastern Time (US & Canada), Bogota, Lima"),
    NAT("NZ", "New Zealand", nz, "N###", true, "(###)-###-####", "(###)-###-####", "+12:00",
        "Auckland, Wellington, Fiji, Kamchatka"),
    NAT("IE", "Ireland", ie, "A## A#A#", false, "0#1-###-####", "08#-###-####", "0:00",
        "Western Europe Time, London, Lisbon, Casablanca"),
    NAT("FR", "France", fr, "N####", true, "0#-##-##-##-##", "06-##-##-##-##", "+1:00",
        "Brussels, Copenhagen, Madrid, Paris"),
    NAT("DE", "Germany", de, "N####", true, "0###-#######", "01##-#######", "+1:00",
        "Brussels, Copenhagen, Madrid, Paris"),
    NAT("CH", "Switzerland", ch, "N###", true, "0## ### ## ##", "07# ### ## ##", "+1:00",
        "Brussels, Copenhagen, Madrid, Paris"),
    NAT("NL", "Netherlands", nl, "N### AA", false, "(0##) #######", "(06) ########", "+1:00",
        "Brussels, Copenhagen, Madrid, Paris"),
    NAT("NO", "Norway", no, "N###", true, "########", "4#######", "+1:00",
        "Brussels, Copenhagen, Madrid, Paris"),
    NAT("DK", "Denmark", dk, "N###", true, "########", "########", "+1:00",
        "Brussels, Copenhagen, Madrid, Paris"),
    NAT("FI", "Finland", fi, "N####", true, "0#-###-###", "04#-###-##-##", "+2:00",
        "Kaliningrad, South Africa"),
    NAT("ES", "Spain", es, "N####", true, "9##-###-###", "6##-###-###", "+1:00",
        "Brussels, Copenhagen, Madrid, Paris"),
    NAT("MX", "Mexico", mx, "N####", true, "(6##) ### ####", "(6##) ### ####", "-6:00",
        "Central Time (US & Canada), Mexico City"),
    NAT("BR", "Brazil", br, "#####-###", false, "(##) ####-####", "(##) #####-####", "-3:00",
        "Brazil, Buenos Aires, Georgetown"),
    NAT("TR", "Turkey", tr, "N####", true, "(###)-###-####", "(5##)-###-####", "+3:00",
        "Baghdad, Riyadh, Moscow, St. Petersburg"),
    NAT("IN", "India", in, "N#####", true, "#########", "9#########", "+5:30",
        "Bombay, Calcutta, Madras, New Delhi"),
    NAT("IR", "Iran", ir, "N####", true, "0##-########", "09##-###-####", "+3:30", "Tehran"),
    NAT("UA", "Ukraine", ua, "N####", true, "(0##) ###-##-##", "(09#) ###-##-##", "+2:00",
        "Kaliningrad, South Africa"),
    NAT("RS", "Serbia", rs, "N####", true, "0##-####-###", "06#-####-###", "+1:00",
        "Brussels, Copenhagen, Madrid, Paris"),
    NAT("GR", "Greece", gr, "N## ##", false, "2## ### ####", "69# ### ####", "+2:00",
        "Kaliningrad, South Africa"),
    NAT("JP", "Japan", jp, "###-####", false, "0#-####-####", "090-####-####", "+9:00",
        "Tokyo, Seoul, Osaka, Sapporo, Yakutsk"),
    NAT("KR", "South Korea", kr, "N####", true, "0#-###-####", "010-####-####", "+9:00",
        "Tokyo, Seoul, Osaka, Sapporo, Yakutsk"),
    NAT("CN", "China", cn, "N#####", true, "0##-########", "1##-####-####", "+8:00",
        "Beijing, Perth, Singapore, Hong Kong"),
};
const unsigned gen_nnats = COUNT(gen_nats);

const char *const gen_adjectives[] = {
    "blue",  "red",   "green", "silver", "golden", "lazy",     "happy",     "crazy",
    "brave", "quiet", "tiny",  "heavy",  "sad",    "angry",    "purple",    "orange",
    "black", "white", "wild",  "smart",  "lucky",  "ticklish", "beautiful", "organic",
};
const unsigned gen_nadjectives = COUNT(gen_adjectives);

const char *const gen_animals[] = {
    "bird",  "goose", "tiger", "panda", "rabbit", "koala",   "swan",      "wolf",
    "bear",  "lion",  "frog",  "fish",  "duck",   "gorilla", "leopard",   "elephant",
    "zebra", "snake", "cat",   "dog",   "owl",    "peacock", "butterfly", "ladybug",
};
const unsigned gen_nanimals = COUNT(gen_animals);
