"""Multilingual word lists for the 15 visitor languages, and the typo-tolerant matcher that finds them in messages.

Entries are written in plain spelling; they are folded exactly like visitor text (case, accents, Arabic letter forms),
so either spelling matches. A trailing `*` marks a stem that matches any ending (for Finnish, Turkish, Polish, ...).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from bm25s import stopwords as bm25s_stopwords

LANGUAGES: tuple[str, ...] = ("ar", "da", "de", "en", "es", "fi", "fr", "it", "nl", "no", "pl", "pt", "ro", "sv", "tr")

_LETTER_MAP = str.maketrans(
    {
        "ı": "i",
        "ł": "l",
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ð": "d",
        "þ": "th",
        "ß": "ss",
        "ة": "ه",
        "ى": "ي",
        "ـ": None,
        "’": "'",
        "‘": "'",
        "`": "'",
        "´": "'",
    }
)
_ARABIC_DIACRITICS = re.compile(r"[\u064b-\u065f\u0670]")
_CONTRACTION = re.compile(r"n't\b")
_REPEATS = re.compile(r"(\w)\1{2,}")
_WORD = re.compile(r"\w+")
_ARABIC_WORD = re.compile(r"^[\u0600-\u06ff]+$")


def fold(text: str) -> str:
    """Casefold, drop accents and Arabic vowel marks, unify letter variants and squeeze letters typed 3+ times."""
    text = text.casefold().translate(_LETTER_MAP)
    text = _ARABIC_DIACRITICS.sub("", text)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = _CONTRACTION.sub("nt", text)
    return _REPEATS.sub(r"\1", text)


def words(text: str) -> list[str]:
    """Folded words of a text; apostrophes split words (l'agent → l agent) except English n't (don't → dont)."""
    return _WORD.findall(fold(text).replace("'", " ").replace("_", " "))


# --- Asking for a person ------------------------------------------------------------------------------------------
# person: who the visitor wants; contact: the wish or the act of talking; strong: says it alone;
# block: admin acts on people (adding someone to a team is not asking for one); negation: "I don't need a person".

HUMAN_REQUEST: dict[str, dict[str, str]] = {
    "person": {
        "en": "human, humans, person, persons, people, agent, agents, representative, rep, operator, someone, "
        "somebody, "
        "anyone, anybody, staff, employee, manager, supervisor, advisor, adviser, specialist, technician, "
        "customer service, customer support, support team, support agent, service desk, real person, "
        "real human, actual person, actual human, live person, support person",
        "de": "mensch, menschen, menschlich*, person, personen, mitarbeiter*, berater*, jemand, jemandem, jemanden, "
        "agent, agenten, kundendienst, kundenservice, kundensupport, support, supportteam, operator, "
        "echte person, echten menschen, "
        "sachbearbeiter*, ansprechpartner*, servicemitarbeiter*, techniker*, kundenberater*",
        "fr": "humain, humaine, humains, personne, personnes, conseiller, conseillere, conseillers, agent, agents, "
        "operateur, operatrice, quelqu'un, employe, service client, service clientele, interlocuteur, "
        "technicien, representant, support, equipe support, quelqu un de reel",
        "es": "humano, humana, humanos, persona, personas, agente, agentes, representante, operador, operadora, "
        "alguien, asesor, asesora, empleado, empleada, servicio al cliente, atencion al cliente, ejecutivo, "
        "tecnico, soporte",
        "it": "umano, umana, umani, persona, persone, operatore, operatrice, agente, qualcuno, consulente, addetto, "
        "servizio clienti, assistenza clienti, rappresentante, tecnico, dipendente, supporto",
        "nl": "mens, mensen, menselijk*, persoon, medewerker, medewerkster, iemand, agent, klantenservice, operator, "
        "vertegenwoordiger, adviseur, servicemedewerker, helpdesk, supportmedewerker",
        "da": "menneske, mennesket, mennesker, person, personen, medarbejder*, nogen, agent, kundeservice, "
        "supporter, operator, radgiver, support, kundesupport, kundebehandler, supportperson",
        "no": "menneske, mennesket, mennesker, person, personen, ansatt, medarbeider*, noen, agent, kundeservice, "
        "kundestotte, operator, radgiver, saksbehandler, support, kundebehandler, supportperson",
        "sv": "manniska, manniskor, mansklig*, person, personal, medarbetare, handlaggare, nagon, agent, kundtjanst, "
        "kundservice, operator, radgivare, supportpersonal, support, supportperson, riktig person",
        "fi": "ihmi*, henkilo*, asiakaspalvelu*, asiakaspalvelija*, tyontekija*, joku, jonkun, jonkin, agentti*, "
        "edustaja*, virkailija*, tukihenkilo*, asiantuntija*",
        "pl": "czlowie*, osob*, konsultant*, pracownik*, ktos, kims, kogos, agent*, przedstawiciel*, operator*, "
        "obsluga klienta, obsluga, obsluge, obslugi, doradc*, doradca, konsultantem",
        "pt": "humano, humana, pessoa, pessoas, atendente, agente, alguem, operador, operadora, representante, "
        "funcionario, consultor, atendimento humano, suporte humano, tecnico, atendimento ao cliente, suporte",
        "ro": "un om, cu un om, omul, oameni, cineva real, persoana, persoane, operator, agent, cineva, consultant, "
        "angajat, reprezentant, "
        "serviciul clienti, suport clienti, suportul, fiinta umana, uman, umana",
        "tr": "insan*, kisi*, temsilci*, musteri hizmetleri*, yetkili*, operator*, calisan*, biri, biriyle, birisi, "
        "birisiyle, canli destek, destek ekibi*, danisman*",
        "ar": "انسان, بشري, شخص, موظف, وكيل, ممثل, خدمه العملاء, احد, حد, مسؤول, مندوب, الدعم, دعم فني, "
        "موظفين, بشر, عميل خدمه",
    },
    "contact": {
        "en": "talk, talking, speak, speaking, chat, chatting, connect, transfer, contact, reach, call, escalate, "
        "put me through, hand me over, pass me, switch me, want, wanna, need, give me, let me, "
        "can i have, is there, are there, is anyone, rather, prefer, instead of",
        "de": "sprechen, reden, chatten, verbinden, verbinde, verbinden sie, weiterleiten, kontaktieren, erreichen, "
        "anrufen, durchstellen, mochte, will, wollen, brauche, benotige, hatte gern, kann ich, gibt es, lieber, "
        "ist da, ist hier, statt",
        "fr": "parler, discuter, joindre, contacter, transferer, passer, passez, mettre en relation, en relation, "
        "veux, voudrais, aimerais, souhaite, souhaiterais, besoin, appeler, puis je, il y a, y a t il, plutot, "
        "passez moi, passe moi",
        "es": "hablar, hable, chatear, comunicarme, contactar, conectar, conectarme, comunicar, transferir, pasar, "
        "pasame, paseme, quiero, quisiera, necesito, puedo, me pueden, llamar, hay, prefiero, en vez de",
        "it": "parlare, parlarne, chattare, contattare, collegare, collegarmi, passare, passarmi, trasferire, "
        "voglio, vorrei, bisogno, posso, chiamare, c e, ce, preferisco, invece di",
        "nl": "praten, spreken, chatten, verbinden, doorverbinden, contact, contacteren, bellen, wil, wilt, zou, "
        "graag, nodig, kan ik, is er, zijn er, liever, verbind, in plaats van",
        "da": "tale, snakke, chatte, forbinde, forbind, stille, stil, videre, viderestil*, kontakte, ringe, vil, "
        "gerne, brug, kan jeg, er der, hellere, i stedet for",
        "no": "snakke, prate, chatte, koble, kontakte, ringe, vil, gjerne, trenger, far jeg, kan jeg, er det, "
        "sett meg over, sette meg over, over til, heller, i stedet for",
        "sv": "prata, tala, chatta, koppla, kontakta, ringa, vill, garna, behover, kan jag, far jag, finns det, "
        "ge mig, hellre, istallet for",
        "fi": "puhu*, juttel*, keskustel*, yhdista*, yhteyt*, soitta*, haluan, haluaisin, tarvitsen, voinko, "
        "saanko, onko siella, onko, mieluummin",
        "pl": "rozmawia*, porozmawia*, pogadac, mowic, polacz*, skontaktowa*, kontakt*, przelacz*, chce, "
        "chcialbym, chcialabym, potrzebuje, moge, czy moge, jest tam, czy jest, wolal*, zamiast",
        "pt": "falar, conversar, contatar, contactar, conectar, transferir, passar, ligar, quero, queria, "
        "gostaria, preciso, posso, tem alguem, ha alguem, transfere, prefiro, em vez de",
        "ro": "vorb*, discuta, discut, contacta, conecta, conectati, transfer*, dati mi, vreau, as vrea, doresc, "
        "nevoie, pot, exista, este cineva, prefer, in loc de",
        "tr": "konus*, gorus*, bagla*, aktar*, ulas*, iletisim*, istiyorum, isterim, lazim, ihtiyac*, var mi, yerine",
        "ar": "اتكلم, تكلم, اتحدث, التحدث, التكلم, احكي, كلم, اكلم, التواصل, اتواصل, تواصل, حولني, وصلني, "
        "اوصلني, اريد, ابغى, ابي, بدي, عايز, عاوز, احتاج, ممكن, يمكنني, هل يوجد, يوجد, في احد, بدلا من",
    },
    "strong": {
        "en": "live agent, live support, human agent, human support, not a bot, not a robot, no bot, no bots, "
        "stop the bot, talk to a human, speak to a human, talk to someone, speak to someone, "
        "speak with someone, talk with someone, a human please, human please",
        "de": "echte person, echten person, echter mensch, echten menschen, echtem menschen, mit einem menschen, "
        "menschlichen mitarbeiter, kein bot, keinen bot, keine ki, keinen roboter, mit jemandem sprechen",
        "fr": "vraie personne, vrai humain, vrai personne, etre humain, pas un robot, pas un bot, pas de robot, "
        "conseiller humain, agent humain, personne reelle, personne physique",
        "es": "persona real, humano real, ser humano, agente humano, no un bot, no un robot, una persona de verdad",
        "it": "persona reale, persona vera, essere umano, operatore umano, non un bot, non un robot",
        "nl": "echt mens, echte mens, echte persoon, echt persoon, geen bot, geen robot, met een mens",
        "da": "rigtig person, rigtigt menneske, aegte person, ikke en bot, ikke en robot, et menneske",
        "no": "ekte person, ekte menneske, virkelig person, ikke en bot, ikke en robot, et menneske",
        "sv": "riktig person, riktig manniska, verklig person, inte en bot, inte en robot, ingen bot",
        "fi": "oike* ihmi*, oike* henkilo*, ei botti*, en halua botti*",
        "pl": "prawdziw* osob*, prawdziw* czlowie*, zywy czlowiek, zywa osoba, nie bot, nie z botem",
        "pt": "pessoa real, ser humano, atendente humano, atendimento humano, nao um robo, nao um bot",
        "ro": "persoana reala, om real, agent uman, operator uman, fiinta umana, nu un bot, nu un robot",
        "tr": "gercek kisi*, gercek insan*, canli deste*, canli temsilci*, bot degil, botla degil, musteri temsilci*",
        "ar": "شخص حقيقي, انسان حقيقي, موظف حقيقي, مش بوت, ليس بوت, مع انسان, مع موظف, موظف بشري, دعم بشري",
    },
    "bot": {
        "en": "bot, bots, chatbot, robot, machine, ai, automated",
        "de": "bot, chatbot, roboter, maschine, ki",
        "fr": "bot, robot, chatbot, machine, ia",
        "es": "bot, robot, chatbot, maquina, ia",
        "it": "bot, robot, chatbot, macchina, ia",
        "nl": "bot, chatbot, robot, machine",
        "da": "bot, boten, chatbot, robot, robotten, maskine",
        "no": "bot, boten, chatbot, robot, roboten, maskin",
        "sv": "bot, boten, chatbot, chattbot, robot, roboten, maskin",
        "fi": "botti*, robotti*, kone",
        "pl": "bot*, robot*, chatbot*, maszyn*",
        "pt": "bot, robo, chatbot, maquina",
        "ro": "bot, robot, chatbot, robotul, botul",
        "tr": "bot*, robot*, makine*",
        "ar": "بوت, روبوت, الة, ذكاء اصطناعي",
    },
    "block": {
        "en": "add, adds, added, adding, invite, invites, invited, inviting, remove, removing, removed, delete, "
        "assign, assigned, assigning, share, sharing, shared, tag, mention, mentioned, onboard, hire, hiring, "
        "seat, seats, grant, kick, ban, block",
        "de": "hinzuf*, einladen, eingeladen, lade, entfernen, entferne, loschen, zuweisen, teilen, fuge, freigeben",
        "fr": "ajouter, ajoute, inviter, invite, supprimer, retirer, assigner, partager, attribuer",
        "es": "anadir, agregar, invitar, eliminar, quitar, asignar, compartir, borrar",
        "it": "aggiungere, aggiungo, aggiungi, invitare, rimuovere, eliminare, assegnare, condividere, togliere",
        "nl": "toevoegen, voeg, uitnodigen, verwijderen, toewijzen, delen",
        "da": "tilfoje, tilfoj, invitere, inviter, fjerne, fjern, slette, tildele, dele",
        "no": "legge til, inviter*, fjerne, fjern, slette, tildele, dele",
        "sv": "lagga till, lagg till, bjuda in, bjud in, ta bort, radera, tilldela, dela",
        "fi": "lisa*, kutsu*, poista*, jaa",
        "pl": "doda*, zapros*, usun*, przypis*, udostepni*",
        "pt": "adicionar, convidar, remover, excluir, atribuir, compartilhar, partilhar",
        "ro": "adaug*, invit*, elimin*, sterg*, atribui*, partaj*",
        "tr": "ekle*, davet*, kaldir*, sil*, paylas*",
        "ar": "اضافه, اضف, اضيف, دعوه, ادعو, حذف, ازاله, مشاركه, تعيين",
    },
    "negation": {
        "en": "dont, do not, not, no need, never, without",
        "de": "nicht, kein, keinen, keine, ohne",
        "fr": "pas, ne, sans, jamais",
        "es": "no, sin, nunca",
        "it": "non, senza, mai",
        "nl": "niet, geen, zonder",
        "da": "ikke, uden",
        "no": "ikke, uten",
        "sv": "inte, utan",
        "fi": "en, ei, ilman",
        "pl": "nie, bez",
        "pt": "nao, sem",
        "ro": "nu, fara",
        "tr": "istemiyorum, degil, gerek yok",
        "ar": "لا, لست, مش, ما, بدون, ليس",
    },
}

# --- Frustration: insults, swearing and exasperation -----------------------------------------------------------

FRUSTRATION: dict[str, dict[str, str]] = {
    "insult": {
        "en": "useless, stupid, idiot, idiots, idiotic, dumb, moron, garbage, rubbish, trash, crap, crappy, shit, "
        "shitty, bullshit, wtf, ridiculous, pathetic, terrible, awful, horrible, worst, incompetent, scam, "
        "fed up, sick of, sick and tired, waste of time, not helpful, unhelpful, you dont understand, "
        "not what i asked, are you kidding, fuck*, damn, joke, annoying, frustrat*, angry, furious, "
        "unacceptable, disgusting, hate this, hopeless, nonsense, a joke, thanks for nothing, makes no sense, "
        "make any sense, makes any sense, doesnt make sense, are you even, even reading, not listening, "
        "over and over, again and again, same article, same answer, nothing works, nothing ever works, "
        "still not working, still doesnt work, this is the worst",
        "de": "nutzlos, sinnlos, dumm, blod, idiot*, scheiss*, mist, lacherlich, unverschamt, frech, katastrophe, "
        "nervt, nervig, reicht mir, die nase voll, zeitverschwendung, verarsch*, wutend, unmoglich, sauer, "
        "inkompetent, bescheuert, unbrauchbar, furchtbar, schrecklich, frechheit",
        "fr": "inutile, nul, nulle, stupide, idiot*, debile, merde, putain, ridicule, lamentable, en ai marre, "
        "ras le bol, perte de temps, arnaque, incompetent*, enerv*, furieux, furieuse, honteux, inadmissible, "
        "inacceptable, n importe quoi, foutez, bordel, pourri, nullite, agace",
        "es": "inutil, estupid*, idiota, tonto, tonta, basura, mierda, ridicul*, harto, harta, perdida de tiempo, "
        "estafa, incompetente*, verguenza, pesim*, indignante, molest*, enfadad*, cabread*, no sirve, joder, "
        "cono, fatal, desastre, absurdo",
        "it": "inutile, stupid*, idiota, cretino, schifo, fa schifo, ridicol*, assurdo, vergogna, stufo, stufa, "
        "perdita di tempo, truffa, incompetent*, pessimo, cazzo, merda, arrabbiat*, non serve a niente, "
        "vaffanculo, scandaloso, disastro",
        "nl": "nutteloos, dom, stom, idioot, waardeloos, belachelijk, onzin, kut, klote, shit, zonde van mijn tijd, "
        "tijdverspilling, oplichting, oplichters, incompetent, boos, woedend, schandalig, ik ben het zat, "
        "spuugzat, het zat, verschrikkelijk, slecht",
        "da": "ubrugelig*, giver op, dum, dumt, idiot*, elendig, latterlig, lort, pis, spild af tid, traet af, "
        "svindel, "
        "inkompetent*, vred, irriterende, skandale, for darligt, pokker, fandens, forfaerdelig",
        "no": "ubrukelig*, gir opp, dum, dumt, idiot*, elendig, latterlig, dritt, drit*, bortkastet tid, lei av, "
        "svindel, "
        "inkompetent*, sint, irriterende, skandale, haplost, faen, jaevla, forferdelig",
        "sv": "vardelos*, ger upp, dum, dumt, idiot*, usel, lojlig*, skit, skitsnack, sloseri med tid, trott pa, "
        "bedrageri, inkompetent*, arg, irriterande, skandal*, fan, javla, hopplos*, fruktansvard*",
        "fi": "hyodyto*, hyodytt*, mikaan ei toimi, luovutan, tyhma*, idiootti*, surkea, naurettava, paska*, "
        "ajanhukkaa, ajan haaskausta, "
        "kyllastyn*, huijaus*, epapatev*, vihainen, arsyttaa, arsyttav*, perkele, vittu*, turhaa, kamala",
        "pl": "bezuzyteczn*, glupi*, idiot*, beznadziejn*, zalosn*, do niczego, strata czasu, mam dosc, oszust*, "
        "niekompetent*, wsciekl*, zly, kurwa, cholera, skandal*, denerwujac*, wkurz*, porazka, okropn*",
        "pt": "inutil, estupid*, idiota, burro, lixo, porcaria, merda, ridicul*, palhacada, perda de tempo, farto, "
        "farta, golpe, fraude, incompetente*, vergonha, pessim*, absurdo, raiva, irritad*, horrivel",
        "ro": "inutil*, prost*, idiot*, nu serveste la nimic, ridicol*, jalnic*, pierdere de timp, am saturat, "
        "saturat, teapa, escroc*, incompetent*, nervos, furios, rusine, oribil, groaznic, naiba, dracu",
        "tr": "ise yaramaz, aptal*, salak*, gerizekali, berbat, rezalet, sacma*, biktim, zaman kaybi, "
        "dolandirici*, beceriksiz*, sinir*, kizgin, lanet, yeter artik, utanc*, berbat bir",
        "ar": "غبي, سخيف, تافه, زفت, فاشل, عديم الفائده, مضيعه للوقت, مضيعه وقت, سئمت, زهقت, نصب, احتيال, "
        "حرامي, حرامية, غاضب, مستفز, سيء, سيئ, لا شيء يعمل, ما في شي يشتغل, مقرف, حقير, كلام فاضي, حمار, "
        "تعبت منكم",
    },
}

# --- Small talk and closing the conversation ----------------------------------------------------------------------

SMALL_TALK: dict[str, dict[str, str]] = {
    "greeting": {
        "en": "hi, hello, hey, hiya, howdy, greetings, yo, good morning, good afternoon, good evening, hi there",
        "de": "hallo, hi, hey, guten tag, guten morgen, guten abend, moin, servus, gruss gott, gruezi",
        "fr": "bonjour, salut, bonsoir, coucou, allo",
        "es": "hola, buenos dias, buenas tardes, buenas noches, buenas, saludos",
        "it": "ciao, buongiorno, buonasera, salve",
        "nl": "hallo, hoi, hai, goedemorgen, goedemiddag, goedenavond, dag",
        "da": "hej, hejsa, god morgen, goddag, hallo",
        "no": "hei, hallo, god morgen, heisann, hei hei",
        "sv": "hej, hejsan, tjena, god morgon, hallå",
        "fi": "hei, moi, moikka, terve, hyvaa paivaa, huomenta, moro",
        "pl": "czesc, dzien dobry, witam, hej, witaj",
        "pt": "ola, oi, bom dia, boa tarde, boa noite",
        "ro": "salut, buna, buna ziua, buna dimineata, buna seara, hei",
        "tr": "merhaba, selam, gunaydin, iyi gunler, selamlar",
        "ar": "مرحبا, السلام عليكم, سلام, اهلا, هلا, صباح الخير, مساء الخير, اهلين",
    },
    "wellbeing": {
        "en": "how are you, how r u, hows it going, how is it going, are you a bot, who are you, are you human, "
        "what are you",
        "de": "wie geht es, wie gehts, wie geht es dir, wer bist du, bist du ein bot",
        "fr": "ca va, comment allez vous, comment ca va, qui es tu, es tu un robot",
        "es": "que tal, como estas, como esta, quien eres, eres un bot",
        "it": "come stai, come va, chi sei, sei un bot",
        "nl": "hoe gaat het, hoe is het, wie ben jij, ben je een bot",
        "da": "hvordan gar det, hvem er du, er du en bot",
        "no": "hvordan gar det, hvordan har du det, hvem er du, er du en bot",
        "sv": "hur mar du, hur ar laget, vem ar du, ar du en bot",
        "fi": "mita kuuluu, kuka olet, oletko botti",
        "pl": "jak sie masz, co slychac, kim jestes, czy jestes botem",
        "pt": "tudo bem, como vai, como esta, quem e voce, voce e um robo",
        "ro": "ce faci, ce mai faci, cine esti, esti un bot",
        "tr": "nasilsin, naber, sen kimsin, bot musun",
        "ar": "كيف حالك, كيفك, شلونك, ازيك, من انت, هل انت بوت",
    },
    "thanks": {
        "en": "thanks, thank you, thank u, thx, ty, cheers, much appreciated, appreciate it, many thanks",
        "de": "danke, vielen dank, danke schon, dankeschon, merci",
        "fr": "merci, merci beaucoup, je vous remercie",
        "es": "gracias, muchas gracias, mil gracias",
        "it": "grazie, grazie mille, ti ringrazio",
        "nl": "bedankt, dank, dank je, dank u, dankjewel, dankuwel, thanks",
        "da": "tak, mange tak, tusind tak",
        "no": "takk, tusen takk, mange takk",
        "sv": "tack, tack sa mycket, tusen tack",
        "fi": "kiitos, kiitti, kiitos paljon",
        "pl": "dzieki, dziekuje, dziekuje bardzo",
        "pt": "obrigado, obrigada, valeu, muito obrigado, muito obrigada",
        "ro": "multumesc, mersi, multumesc frumos",
        "tr": "tesekkurler, tesekkur ederim, sagol, sag olun, eyvallah",
        "ar": "شكرا, شكرا لك, مشكور, يعطيك العافيه, تسلم",
    },
    "goodbye": {
        "en": "bye, goodbye, bye bye, see you, see ya, have a nice day, have a good day, cya, take care",
        "de": "tschuss, auf wiedersehen, ciao, schonen tag noch, bis dann",
        "fr": "au revoir, bonne journee, a bientot, bonne soiree",
        "es": "adios, hasta luego, chao, buen dia, hasta pronto",
        "it": "arrivederci, a presto, buona giornata, ciao ciao",
        "nl": "doei, tot ziens, fijne dag, dag dag",
        "da": "farvel, hav en god dag, vi ses",
        "no": "ha det, ha en fin dag, ha det bra, vi ses",
        "sv": "hej da, ha en bra dag, vi ses",
        "fi": "nakemiin, heippa, moikka, hyvaa paivanjatkoa",
        "pl": "do widzenia, na razie, pa, milego dnia",
        "pt": "tchau, adeus, ate logo, ate mais",
        "ro": "la revedere, pa, o zi buna",
        "tr": "hosca kal, gorusuruz, iyi gunler, hoscakal",
        "ar": "مع السلامه, وداعا, الى اللقاء, باي",
    },
    "solved": {
        "en": "that worked, it worked, it works, works now, solved, fixed, that fixed it, problem solved, all good, "
        "that helped, thats all, nothing else, all set, sorted, resolved, that did it, all sorted",
        "de": "hat funktioniert, funktioniert jetzt, gelost, das wars, hat geholfen, erledigt, hat geklappt",
        "fr": "ca marche, ca fonctionne, resolu, c est bon, ca m a aide, regle, c est regle",
        "es": "funciono, ya funciona, resuelto, solucionado, me sirvio, ya esta",
        "it": "ha funzionato, funziona, risolto, mi e stato utile, tutto a posto",
        "nl": "het werkt, opgelost, gelukt, helemaal goed",
        "da": "det virker, lost, det virkede, det hjalp",
        "no": "det fungerer, det funker, lost, det hjalp",
        "sv": "det fungerar, det funkar, lost, det hjalpte",
        "fi": "toimii, se toimi, ratkesi, auttoi",
        "pl": "dziala, rozwiazane, pomoglo",
        "pt": "funcionou, resolvido, resolveu, deu certo, ajudou",
        "ro": "a mers, merge, functioneaza, rezolvat, m a ajutat",
        "tr": "calisti, cozuldu, halloldu, ise yaradi",
        "ar": "اشتغل, تم الحل, انحلت, نجح, ساعدني, اتحلت",
    },
}

# Words a visitor adds around small talk ("ok thanks so much!") that carry no request.
FILLER: dict[str, str] = {
    "en": "ok, okay, so, very, much, a, lot, again, you, guys, there, all, for, the, help, your, and, oh, yes, "
    "yeah, great, that, it, is, was, please, bot, assistant, me, i, am, im, perfect, awesome, super, cool, "
    "got it, nice, good, understood",
    "de": "ok, okay, so, sehr, viel, fur, die, hilfe, und, ja, dir, ihnen, noch, mal, bitte, perfekt, super, "
    "alles klar, prima",
    "fr": "ok, d accord, tres, beaucoup, pour, l, aide, votre, et, oui, bien, s il vous plait, encore, parfait, "
    "super, genial",
    "es": "ok, vale, muy, mucho, por, la, ayuda, su, y, si, bien, por favor, perfecto, genial, listo",
    "it": "ok, va bene, molto, tanto, per, l, aiuto, e, si, bene, per favore, perfetto, ottimo, capito",
    "nl": "ok, oke, heel, erg, veel, voor, de, hulp, en, ja, alvast, je, u, top, perfect, super",
    "da": "ok, okay, meget, for, hjaelpen, og, ja, du, perfekt, super",
    "no": "ok, okei, for, hjelpen, og, ja, du, perfekt, supert, flott",
    "sv": "ok, okej, sa, mycket, for, hjalpen, och, ja, du, perfekt, toppen, bra",
    "fi": "ok, okei, avusta, ja, joo, kylla, paljon, selva, loistavaa, hienoa",
    "pl": "ok, okej, bardzo, za, pomoc, i, tak, super, swietnie, wszystko jasne",
    "pt": "ok, muito, pela, ajuda, e, sim, por favor, perfeito, otimo, beleza",
    "ro": "ok, foarte, pentru, ajutor, si, da, mult, perfect, super, bine",
    "tr": "ok, tamam, cok, yardim, icin, ve, evet, tamam, super, harika, oldu",
    "ar": "اوك, جزيلا, على, المساعده, و, نعم, كثير, ممتاز, تمام, رائع",
}

# Short stopword lists for languages whose stemmer ships none.
EXTRA_STOPWORDS: dict[str, str] = {
    "en": "dont, doesnt, cant, wont, didnt, isnt, arent, im, ive, id, youre, whats, hows, wheres, theres, please, "
    "would, could, get, got, want, need, way, make, let, also, still, even, like, know, tell, help, us, "
    "anyone, someone, something, anything, thing, things, possible, able, hi, hello, thanks, ok, okay",
    "ar": "في, من, على, الى, عن, مع, هذا, هذه, ذلك, التي, الذي, ان, او, كيف, ماذا, لماذا, هل, انا, انت, هو, هي, "
    "نحن, كان, لا, ما, لم, لن, قد, كل, عند, ثم, او, يا, و",
    "fi": "ja, on, ei, se, etta, mina, sina, han, me, te, he, tama, kuin, mutta, tai, jos, niin, kun, mita, miten, "
    "miksi, voi, olen, olla, oli, ovat, jo, myos, vain, nyt, en, minun, minulla",
    "pl": "i, w, na, z, do, nie, sie, to, jest, ze, o, jak, a, co, czy, po, za, od, tak, jestem, moje, moj, moja, "
    "mnie, mi, ale, ten, ta, tego, juz, tylko, mam, by, mozna, moge",
    "ro": "si, in, la, de, pe, cu, nu, o, un, este, sa, ca, mai, ce, cum, din, pentru, sunt, am, meu, mea, "
    "mele, imi, ma, eu, ai, al, ale, sau, dar, daca, poate, pot",
}

_BM25S_STOPWORDS: dict[str, Sequence[str]] = {
    "da": bm25s_stopwords.STOPWORDS_DANISH,
    "de": bm25s_stopwords.STOPWORDS_GERMAN,
    "en": bm25s_stopwords.STOPWORDS_EN_PLUS,
    "es": bm25s_stopwords.STOPWORDS_SPANISH,
    "fr": bm25s_stopwords.STOPWORDS_FRENCH,
    "it": bm25s_stopwords.STOPWORDS_ITALIAN,
    "nl": bm25s_stopwords.STOPWORDS_DUTCH,
    "no": bm25s_stopwords.STOPWORDS_NORWEGIAN,
    "pt": bm25s_stopwords.STOPWORDS_PORTUGUESE,
    "sv": bm25s_stopwords.STOPWORDS_SWEDISH,
    "tr": bm25s_stopwords.STOPWORDS_TURKISH,
}


@cache
def stopwords(language: str | None) -> frozenset[str]:
    """Folded stopwords of one language, or of all 15 when the language is None."""
    if language is None:
        return frozenset().union(*(stopwords(code) for code in LANGUAGES))
    listed = list(_BM25S_STOPWORDS.get(language, ())) + _parse_phrases(EXTRA_STOPWORDS.get(language, ""))
    return frozenset(word for entry in listed for word in words(entry))


# --- Support vocabulary across languages -------------------------------------------------------------------------
# English knowledge bases, foreign questions: each row maps what a visitor writes in their language to the English
# words an article uses. Common support and account vocabulary only; product names pass through untranslated.

_KEYWORD_ROWS: dict[str, str] = {
    "password": "ar: كلمه المرور, كلمه السر, باسورد | da: adgangskode, kodeord | de: passwort, kennwort | "
    "es: contrasena, clave | fi: salasana* | fr: mot de passe | it: password, parola d ordine | "
    "nl: wachtwoord | no: passord | pl: hasl*, haslo | pt: senha, palavra passe | ro: parola, parolei | "
    "sv: losenord | tr: sifre*, parola*",
    "reset": "ar: اعاده تعيين | da: nulstil* | de: zurucksetzen, zurucksetze | es: restablecer, "
    "recuperar, resetear | fi: nollaa*, palauta* | fr: reinitialiser, reinitialisation | it: reimpostare, "
    "reimposta, reset | nl: resetten, herstellen, opnieuw instellen | no: tilbakestill* | pl: zresetowa*, "
    "resetowa* | pt: redefinir, recuperar | ro: reseta, resetez, resetare | sv: aterstall* | "
    "tr: sifirla*",
    "forgot": "ar: نسيت | da: glemt | de: vergessen | es: olvide, olvidado, olvidé | fi: unohdin, unohtu* | "
    "fr: oublie, oubli | it: dimenticato, dimenticata | nl: vergeten | no: glemt | pl: zapomnia* | "
    "pt: esqueci | ro: uitat | sv: glomt | tr: unuttum, unuttu*",
    "sign in": "ar: تسجيل الدخول, الدخول, ادخل | da: log ind, logge ind, login | de: anmelden, einloggen, "
    "anmeldung | es: iniciar sesion, entrar, acceder | fi: kirjaudu*, kirjautu* | fr: connecter, "
    "connexion, me connecter | it: accedere, accesso, login | nl: inloggen, aanmelden | no: logge inn, "
    "logg inn, innlogging | pl: zalogowa*, logowani* | pt: entrar, login, iniciar sessao | "
    "ro: conecta, autentifica, logare | sv: logga in, inloggning | tr: giris*, oturum ac*",
    "sign out": "ar: تسجيل الخروج | da: log ud | de: abmelden, ausloggen | es: cerrar sesion | fi: kirjaudu ulos | "
    "fr: deconnecter, deconnexion | it: disconnettere, esci | nl: uitloggen, afmelden | no: logg ut | "
    "pl: wyloguj* | pt: sair, terminar sessao | ro: deconecta | sv: logga ut | tr: cikis*",
    "account": "ar: حساب, حسابي | da: konto | de: konto, benutzerkonto | es: cuenta | fi: tili* | fr: compte | "
    "it: account | nl: account | no: konto | pl: konto, konta | pt: conta | ro: cont, contul | "
    "sv: konto | tr: hesab*, hesap*",
    "email": "ar: بريد, البريد الالكتروني, ايميل | da: e mail | de: e mail, mail | es: correo, correo electronico | "
    "fi: sahkoposti* | fr: courriel, e mail, adresse mail | it: e mail, posta | nl: e mail, mail | "
    "no: e post | pl: mail*, e mail | pt: e mail, correio | ro: e mail | sv: e post, mejl | "
    "tr: e posta*, mail*, eposta*",
    "address": "ar: عنوان | da: adresse | de: adresse | es: direccion | fi: osoite* | fr: adresse | it: indirizzo | "
    "nl: adres | no: adresse | pl: adres* | pt: endereco | ro: adresa | sv: adress | tr: adres*",
    "change": "ar: تغيير, غير, تعديل | da: aendr*, skift* | de: andern, andere, wechseln | es: cambiar, cambio | "
    "fi: vaihda*, muuta* | fr: changer, modifier | it: cambiare, modificare | nl: wijzigen, veranderen | "
    "no: endr* | pl: zmieni*, zmian* | pt: mudar, alterar, trocar | ro: schimb* | sv: andra, byta | "
    "tr: degistir*",
    "delete": "ar: حذف, احذف, مسح | da: slet* | de: loschen, losche, geloscht | es: eliminar, borrar, eliminado, "
    "borrado | fi: poista* | fr: supprimer, supprime, effacer | it: eliminare, cancellare, eliminato, "
    "cancellato | nl: verwijderen, verwijderd | no: slett* | pl: usun*, skasowa* | pt: excluir, apagar, "
    "excluido, apagado | ro: sterge, sters, sterg* | sv: radera*, ta bort | tr: sil*",
    "cancel": "ar: الغاء, الغي | da: opsig*, annuller* | de: kundigen, kundige, kundigung, stornieren | "
    "es: cancelar, cancelacion, dar de baja | fi: peru*, irtisano* | fr: annuler, resilier, "
    "resiliation | it: annullare, disdire, disdetta | nl: opzeggen, annuleren | no: si opp, kansell* | "
    "pl: anulowa*, zrezygnowa* | pt: cancelar | ro: anula* | sv: saga upp, avsluta, avbryta | "
    "tr: iptal*",
    "subscription": "ar: اشتراك | da: abonnement* | de: abo, abonnement | es: suscripcion | fi: tilau* | "
    "fr: abonnement | it: abbonamento | nl: abonnement | no: abonnement* | pl: subskrypcj*, "
    "abonament* | pt: assinatura, subscricao | ro: abonament* | sv: abonnemang, prenumeration | "
    "tr: abonelik*, uyelik*",
    "plan": "ar: خطه, باقه | da: plan | de: tarif, plan | es: plan | fi: paketti*, tilaus* | fr: forfait, offre | "
    "it: piano | nl: pakket | no: plan, abonnement | pl: plan*, pakiet* | pt: plano | ro: plan | "
    "sv: plan, abonnemang | tr: plan*, paket*",
    "price": "ar: سعر, اسعار, تكلفه, كم | da: pris, priser, koster | de: preis, preise, kosten, kostet | "
    "es: precio, precios, cuesta, coste | fi: hinta*, maksaa | fr: prix, tarif, tarifs, coute | "
    "it: prezzo, prezzi, costa, costo | nl: prijs, prijzen, kost, kosten | no: pris, priser, koster | "
    "pl: cen*, koszt* | pt: preco, precos, custa, custo | ro: pret, preturi, costa | "
    "sv: pris, priser, kostar | tr: fiyat*, ucret*",
    "payment": "ar: دفع, الدفع, سداد | da: betaling* | de: zahlung, bezahlung, zahlungsmethode | es: pago | "
    "fi: maksu* | fr: paiement | it: pagamento | nl: betaling, betaalmethode | no: betaling* | "
    "pl: platnosc*, platnos* | pt: pagamento | ro: plata, platii | sv: betalning* | tr: odeme*",
    "card": "ar: بطاقه, كرت | da: kort | de: karte, kreditkarte | es: tarjeta | fi: kortti* | fr: carte | "
    "it: carta | nl: kaart, creditcard | no: kort, kortet | pl: kart* | pt: cartao | ro: card, cardul | "
    "sv: kort | tr: kart*",
    "invoice": "ar: فاتوره, فواتير | da: faktura* | de: rechnung, rechnungen | es: factura, facturas | "
    "fi: lasku* | fr: facture, factures | it: fattura, fatture | nl: factuur, facturen | "
    "no: faktura* | pl: faktur* | pt: fatura, faturas | ro: factura, facturi | sv: faktura* | "
    "tr: fatura*",
    "refund": "ar: استرداد, استرجاع المبلغ, ارجاع المال, فلوسي | da: refusion, pengene tilbage, "
    "penge tilbage | de: ruckerstattung, "
    "erstattung, geld zuruck | es: reembolso, devolucion del dinero, devuelvan el dinero, "
    "devolver el dinero, mi dinero | fi: hyvitys*, rahat takaisin | "
    "fr: remboursement, rembourser | it: rimborso | nl: terugbetaling, geld terug | "
    "no: refusjon, pengene tilbake | pl: zwrot pieniedzy, zwrot* | pt: reembolso | ro: rambursare | "
    "sv: aterbetalning, pengarna tillbaka | tr: iade*, para iade*",
    "vat": "ar: ضريبه | da: moms | de: mehrwertsteuer, mwst, umsatzsteuer, ust | es: iva | fi: alv | fr: tva | "
    "it: iva | nl: btw | no: mva | pl: vat | pt: iva | ro: tva | sv: moms | tr: kdv",
    "discount": "ar: خصم | da: rabat | de: rabatt | es: descuento | fi: alennus* | fr: reduction, remise | "
    "it: sconto | nl: korting | no: rabatt | pl: znizk*, rabat* | pt: desconto | ro: reducere | "
    "sv: rabatt | tr: indirim*",
    "student": "ar: طالب, طلاب | da: studerende | de: student, studenten | es: estudiante | fi: opiskelija* | "
    "fr: etudiant | it: studente | nl: student | no: student | pl: student* | pt: estudante | "
    "ro: student | sv: student | tr: ogrenci*",
    "free": "ar: مجاني, مجانا | da: gratis | de: kostenlos, gratis | es: gratis, gratuito | fi: ilmai* | "
    "fr: gratuit | it: gratis, gratuito | nl: gratis | no: gratis | pl: darmow* | pt: gratis, gratuito | "
    "ro: gratuit | sv: gratis | tr: ucretsiz*",
    "upgrade": "ar: ترقيه | da: opgrader* | de: upgraden, upgrade | es: mejorar, actualizar plan | fi: paivita* | "
    "fr: mettre a niveau, passer a | it: passare a | nl: upgraden | no: oppgrader* | pl: ulepsz* | "
    "pt: atualizar plano, fazer upgrade | ro: upgrade | sv: uppgradera | tr: yukselt*",
    "storage": "ar: مساحه, تخزين | da: lagerplads, plads | de: speicher, speicherplatz | es: almacenamiento, "
    "espacio | fi: tallennustila* | fr: stockage, espace | it: spazio, archiviazione | "
    "nl: opslag, ruimte | no: lagring, plass | pl: miejsc*, przestrzen* | pt: armazenamento, espaco | "
    "ro: spatiu, stocare | sv: lagring, utrymme | tr: depolama*, alan*",
    "full": "ar: ممتلئ, ممتلئه | da: fuld | de: voll | es: lleno | fi: taynna | fr: plein | it: pieno | nl: vol | "
    "no: full | pl: peln* | pt: cheio | ro: plin | sv: full | tr: dolu*",
    "file": "ar: ملف, ملفات | da: fil, filer | de: datei, dateien | es: archivo, archivos, fichero | fi: tiedosto* | "
    "fr: fichier, fichiers | it: file | nl: bestand, bestanden | no: fil, filer | pl: plik* | "
    "pt: arquivo, arquivos, ficheiro | ro: fisier* | sv: fil, filer | tr: dosya*",
    "folder": "ar: مجلد | da: mappe* | de: ordner | es: carpeta | fi: kansio* | fr: dossier | it: cartella | "
    "nl: map, mappen | no: mappe* | pl: folder* | pt: pasta | ro: dosar* | sv: mapp* | tr: klasor*",
    "photo": "ar: صور, صوره | da: foto*, billed* | de: foto*, bilder | es: foto* | fi: kuva* | fr: photo* | "
    "it: foto | nl: foto* | no: bilde*, foto* | pl: zdjec*, zdjeci* | pt: foto* | ro: poze, fotografii | "
    "sv: bild*, foto* | tr: fotograf*, resim*",
    "share": "ar: مشاركه, شارك | da: del, dele, deling | de: teilen, freigeben, freigabe | es: compartir | "
    "fi: jaa, jakaa, jaka* | fr: partager, partage | it: condividere, condivisione | nl: delen | "
    "no: dele, deling | pl: udostepni* | pt: compartilhar, partilhar | ro: partaja* | sv: dela* | "
    "tr: paylas*",
    "link": "ar: رابط | da: link | de: link | es: enlace | fi: linkki* | fr: lien | it: link, collegamento | "
    "nl: link | no: lenke* | pl: link* | pt: link | ro: link | sv: lank* | tr: link*, baglanti*",
    "sync": "ar: مزامنه | da: synkron* | de: synchron* | es: sincroniz* | fi: synkron* | fr: synchronis* | "
    "it: sincronizz* | nl: synchronis*, sync | no: synkron* | pl: synchroniz* | pt: sincroniz* | "
    "ro: sincroniz* | sv: synkron* | tr: senkron*, esitle*",
    "upload": "ar: رفع, تحميل الى | da: upload* | de: hochladen | es: subir | fi: lataa palveluun, lahet* | "
    "fr: televerser, importer, envoyer | it: caricare | nl: uploaden | no: laste opp | "
    "pl: przeslac, wgra* | pt: carregar, enviar | ro: incarca | sv: ladda upp | tr: yukle*",
    "download": "ar: تنزيل, تحميل | da: download* | de: herunterladen | es: descargar | fi: lataa*, ladata | "
    "fr: telecharger | it: scaricare | nl: downloaden | no: laste ned | pl: pobra*, pobier* | "
    "pt: baixar, transferir | ro: descarca | sv: ladda ner, ladda ned | tr: indir*",
    "install": "ar: تثبيت | da: installer* | de: installieren | es: instalar | fi: asenna*, asentaa | "
    "fr: installer | it: installare | nl: installeren | no: installer* | pl: zainstalowa*, instal* | "
    "pt: instalar | ro: instala* | sv: installera | tr: kur*, yukle*",
    "app": "ar: تطبيق | da: app | de: app | es: aplicacion, app | fi: sovellu* | fr: application, appli | "
    "it: app, applicazione | nl: app | no: app | pl: aplikacj* | pt: aplicativo, aplicacao, app | "
    "ro: aplicatie, aplicatia | sv: app, appen | tr: uygulama*",
    "phone": "ar: هاتف, جوال, موبايل | da: telefon* | de: handy, telefon, smartphone | es: telefono, movil, "
    "celular | fi: puhelin*, puhelime* | fr: telephone, portable, mobile | it: telefono, cellulare | "
    "nl: telefoon, mobiel | no: telefon* | pl: telefon* | pt: telefone, celular, telemovel | "
    "ro: telefon* | sv: telefon*, mobil* | tr: telefon*",
    "computer": "ar: كمبيوتر, حاسوب | da: computer | de: computer, rechner | es: ordenador, computadora | "
    "fi: tietokone* | fr: ordinateur | it: computer | nl: computer | no: datamaskin* | "
    "pl: komputer* | pt: computador | ro: calculator* | sv: dator* | tr: bilgisayar*",
    "team": "ar: فريق | da: team | de: team | es: equipo | fi: tiimi* | fr: equipe | it: team, squadra | "
    "nl: team | no: team | pl: zesp* | pt: equipe, equipa | ro: echipa | sv: team | tr: ekip*, takim*",
    "member": "ar: عضو, اعضاء | da: medlem* | de: mitglied* | es: miembro* | fi: jasen* | fr: membre* | "
    "it: membro, membri | nl: lid, leden | no: medlem* | pl: czlon* | pt: membro* | ro: membr* | "
    "sv: medlem* | tr: uye*",
    "admin": "ar: مسؤول, مدير | da: administrator | de: administrator, admin | es: administrador | "
    "fi: yllapitaj* | fr: administrateur | it: amministratore | nl: beheerder | no: administrator | "
    "pl: administrator* | pt: administrador | ro: administrator | sv: administrator | "
    "tr: yonetici*",
    "permission": "ar: صلاحيه, صلاحيات | da: tilladelse*, rettighed* | de: berechtigung*, rechte, rolle | "
    "es: permiso*, rol | fi: oikeu*, rooli* | fr: permission*, droits, role | it: permess*, ruolo | "
    "nl: rechten, machtiging*, rol | no: tillatels*, rettighet* | pl: uprawnien*, rol* | "
    "pt: permiss*, funcao | ro: permisiun*, rol | sv: behorighet*, roll | tr: izin*, yetki*, rol*",
    "security": "ar: امان, حمايه | da: sikkerhed | de: sicherheit | es: seguridad | fi: turvallisuu* | "
    "fr: securite | it: sicurezza | nl: beveiliging, veiligheid | no: sikkerhet | pl: bezpieczen* | "
    "pt: seguranca | ro: securitate | sv: sakerhet | tr: guvenlik*",
    "two-step verification": "ar: التحقق بخطوتين, المصادقه الثنائيه | da: totrinsbekraeftelse, "
    "tofaktorgodkendelse | de: zwei faktor, zweistufige, 2fa | es: verificacion en dos "
    "pasos, dos factores | fi: kaksivaihei*, kaksiosai* | fr: double authentification, "
    "validation en deux etapes, deux facteurs | it: verifica in due passaggi, due fattori "
    "| nl: tweestapsverificatie, twee factor | no: totrinnsbekreftelse, tofaktor | "
    "pl: dwuetapow*, dwuskladnikow* | pt: verificacao em duas etapas, dois fatores | "
    "ro: doi pasi, doi factori | sv: tvastegsverifiering, tvafaktor | tr: iki adim*, "
    "iki faktor*",
    "code": "ar: رمز, كود | da: kode | de: code | es: codigo | fi: koodi* | fr: code | it: codice | nl: code | "
    "no: kode | pl: kod* | pt: codigo | ro: cod, codul | sv: kod, koden | tr: kod*",
    "lost": "ar: فقدت, ضاع, مفقود | da: mistet, tabt | de: verloren | es: perdi, perdido | fi: kadot*, hukka* | "
    "fr: perdu | it: perso | nl: kwijt, verloren | no: mistet | pl: zgubi*, straci* | pt: perdi, perdido | "
    "ro: pierdut | sv: tappat, forlorat | tr: kaybet*, kayip*",
    "stolen": "ar: سرق, مسروق | da: stjal*, stjaalet | de: gestohlen | es: robado, robaron | fi: varast* | "
    "fr: vole | it: rubato | nl: gestolen | no: stjalet | pl: skradzi* | pt: roubado | ro: furat | "
    "sv: stulen, stulet | tr: calindi*, calinti*",
    "device": "ar: جهاز, اجهزه | da: enhed* | de: gerat, gerate | es: dispositivo* | fi: laite*, laitte* | "
    "fr: appareil* | it: dispositivo* | nl: apparaat, apparaten | no: enhet* | pl: urzadzen* | "
    "pt: dispositivo* | ro: dispozitiv* | sv: enhet* | tr: cihaz*",
    "restore": "ar: استعاده, استرجاع | da: gendan* | de: wiederherstellen | es: recuperar, restaurar | "
    "fi: palauta*, palautu* | fr: recuperer, restaurer | it: recuperare, ripristinare | "
    "nl: herstellen, terugzetten | no: gjenopprett* | pl: przywroci*, odzyska* | "
    "pt: recuperar, restaurar | ro: recupera, restaura | sv: aterstall*, aterskapa | "
    "tr: geri yukle*, kurtar*",
    "version": "ar: نسخه سابقه, اصدار | da: version* | de: version* | es: version* | fi: versio* | fr: version* | "
    "it: versione* | nl: versie* | no: versjon* | pl: wersj* | pt: versao, versoes | ro: versiun* | "
    "sv: version* | tr: surum*",
    "offline": "ar: بدون انترنت, بدون اتصال | da: offline | de: offline | es: sin conexion | fi: offline, "
    "ilman yhteytta | fr: hors ligne | it: offline | nl: offline | no: frakoblet, offline | "
    "pl: offline, bez internetu | pt: offline, sem internet | ro: offline | sv: offline | "
    "tr: cevrimdisi*, internetsiz",
    "search": "ar: بحث, ابحث | da: sog* | de: suchen, suche | es: buscar, busqueda | fi: haku*, etsi* | "
    "fr: rechercher, recherche | it: cercare, ricerca | nl: zoeken | no: sok* | pl: szuka*, wyszuk* | "
    "pt: pesquisar, procurar, busca | ro: cauta, cautare | sv: soka, sok | tr: ara*",
    "limit": "ar: حد, الحد الاقصى | da: graense | de: limit, grenze, begrenzung | es: limite | fi: raja* | "
    "fr: limite | it: limite | nl: limiet | no: grense | pl: limit* | pt: limite | ro: limita | "
    "sv: grans | tr: sinir*, limit*",
    "size": "ar: حجم | da: storrelse | de: grosse | es: tamano | fi: koko | fr: taille | it: dimensione | "
    "nl: grootte | no: storrelse | pl: rozmiar* | pt: tamanho | ro: dimensiune | sv: storlek | "
    "tr: boyut*",
    "error": "ar: خطا, مشكله | da: fejl | de: fehler, fehlermeldung | es: error | fi: virhe* | fr: erreur | "
    "it: errore | nl: fout, foutmelding | no: feil | pl: blad, bledu, bledem | pt: erro | ro: eroare | "
    "sv: fel | tr: hata*",
    "not working": "ar: لا يعمل, مش شغال | da: virker ikke | de: funktioniert nicht, geht nicht | "
    "es: no funciona | fi: ei toimi | fr: ne marche pas, ne fonctionne pas | it: non funziona | "
    "nl: werkt niet | no: fungerer ikke, virker ikke | pl: nie dziala | pt: nao funciona | "
    "ro: nu merge, nu functioneaza | sv: fungerar inte | tr: calismiyor*",
    "slow": "ar: بطيء | da: langsom* | de: langsam | es: lento, lenta | fi: hidas, hitaa* | fr: lent, lente | "
    "it: lento, lenta | nl: traag, langzaam | no: treg* | pl: woln* | pt: lento, lenta | ro: incet | "
    "sv: langsam* | tr: yavas*",
    "shipping": "ar: شحن, توصيل | da: forsendelse, levering | de: versand, lieferung | es: envio, entrega | "
    "fi: toimitu*, toimitus* | fr: livraison, expedition | it: spedizione, consegna | "
    "nl: verzending, levering, bezorging | no: frakt, levering | pl: wysylk*, dostaw* | "
    "pt: envio, entrega | ro: livrare, expediere | sv: frakt, leverans | tr: kargo*, teslimat*",
    "return": "ar: ارجاع, استرجاع | da: returner*, returnering | de: rucksendung, zurucksenden, retoure | "
    "es: devolver, devolucion | fi: palautu*, palauttaa | fr: retour, retourner, renvoyer | "
    "it: reso, restituire | nl: retour, retourneren, terugsturen | no: retur* | pl: zwroc*, zwrot* | "
    "pt: devolver, devolucao | ro: returna, retur | sv: retur*, returnera | tr: iade*",
    "warranty": "ar: ضمان | da: garanti | de: garantie | es: garantia | fi: takuu* | fr: garantie | "
    "it: garanzia | nl: garantie | no: garanti | pl: gwarancj* | pt: garantia | ro: garantie | "
    "sv: garanti | tr: garanti*",
    "order": "ar: طلب, طلبي | da: ordre, bestilling | de: bestellung | es: pedido | fi: tilau* | fr: commande | "
    "it: ordine | nl: bestelling | no: bestilling | pl: zamowien* | pt: pedido, encomenda | "
    "ro: comanda | sv: bestallning | tr: siparis*",
    "buy": "ar: شراء, اشتري | da: kob* | de: kaufen | es: comprar | fi: osta* | fr: acheter | it: comprare, "
    "acquistare | nl: kopen | no: kjop* | pl: kupi*, kupowa* | pt: comprar | ro: cumpara | sv: kopa | "
    "tr: satin al*",
    "export": "ar: تصدير, نسخه من بياناتي | da: eksport* | de: exportieren, export | es: exportar | fi: vienti*, "
    "vie tiedot | fr: exporter | it: esportare | nl: exporteren | no: eksport* | pl: eksport* | "
    "pt: exportar | ro: exporta | sv: exportera | tr: disa aktar*",
    "data": "ar: بيانات | da: data | de: daten | es: datos | fi: tiedot, tietoja | fr: donnees | it: dati | "
    "nl: gegevens | no: data | pl: dane, danych | pt: dados | ro: date, datele | sv: data | "
    "tr: veri*",
    "privacy": "ar: خصوصيه | da: privatliv* | de: datenschutz | es: privacidad | fi: yksityisyy* | "
    "fr: confidentialite, vie privee | it: privacy, riservatezza | nl: privacy | no: personvern | "
    "pl: prywatnos* | pt: privacidade | ro: confidentialitate | sv: integritet | tr: gizlilik*",
    "family": "ar: عائله | da: familie* | de: familie* | es: familia* | fi: perhe* | fr: famille | it: famiglia | "
    "nl: familie, gezin | no: familie* | pl: rodzin* | pt: familia | ro: familie | sv: familj* | "
    "tr: aile*",
    "friends": "ar: اصدقاء, صديق | da: venner | de: freunde | es: amigos | fi: ystav* | fr: amis | it: amici | "
    "nl: vrienden | no: venner | pl: znajom*, przyjaci* | pt: amigos | ro: prieteni | sv: vanner | "
    "tr: arkadas*",
    "expiry": "ar: انتهاء, صلاحيه | da: udlob* | de: ablauf, ablaufdatum | es: caducidad, vencimiento | "
    "fi: vanhene* | fr: expiration | it: scadenza | nl: vervaldatum, verlopen | no: utlop* | "
    "pl: wygas* | pt: expiracao, validade | ro: expirare | sv: utgang* | tr: sure sonu, gecerlilik*",
    "edit": "ar: تعديل, تحرير | da: rediger* | de: bearbeiten | es: editar | fi: muokka* | fr: modifier, editer | "
    "it: modificare | nl: bewerken | no: redigere | pl: edytowa*, edycj* | pt: editar | ro: edita | "
    "sv: redigera | tr: duzenle*",
    "move": "ar: نقل | da: flyt* | de: verschieben, verschiebe, umziehen | es: mover, trasladar | fi: siirra*, "
    "siirta* | fr: deplacer | it: spostare | nl: verplaatsen | no: flytt* | pl: przenie* | "
    "pt: mover | ro: muta | sv: flytta | tr: tasi*",
    "website": "ar: موقع | da: hjemmeside | de: webseite, website | es: sitio web, pagina web | fi: verkkosivu* | "
    "fr: site web, site | it: sito | nl: website | no: nettside* | pl: stron* | pt: site | "
    "ro: site | sv: webbplats* | tr: web sitesi*, site*",
    "browser": "ar: متصفح | da: browser | de: browser | es: navegador | fi: selain* | fr: navigateur | "
    "it: browser | nl: browser | no: nettleser* | pl: przegladark* | pt: navegador | ro: browser | "
    "sv: webblasare | tr: tarayici*",
    "hacked": "ar: اختراق, مخترق | da: hacket | de: gehackt | es: hackeado, hackearon | fi: hakkeroi* | "
    "fr: pirate | it: hackerato | nl: gehackt | no: hacket | pl: zhakowa* | pt: hackeado, invadida | "
    "ro: spart | sv: hackad, hackat | tr: hacklendi*",
    "failed": "ar: فشل | da: mislykke*, afvist | de: fehlgeschlagen, abgelehnt | es: fallido, fallo, rechazado | "
    "fi: epaonnistu*, hylat* | fr: echoue, refuse | it: fallito, rifiutato | nl: mislukt, geweigerd | "
    "no: mislykt*, avvist | pl: nieudan*, odrzucon* | pt: falhou, recusado | ro: esuat, refuzat | "
    "sv: misslyck*, nekad | tr: basarisiz*, reddedildi*",
    "charged": "ar: خصم مبلغ, سحب مبلغ | da: trukket | de: abgebucht, belastet | es: cobrado, cobraron, cargo | "
    "fi: veloitet* | fr: debite, preleve | it: addebitato | nl: afgeschreven | no: belastet, trukket | "
    "pl: obciaz*, pobrano | pt: cobrado, cobranca | ro: taxat | sv: debiterad | tr: ucret alindi, "
    "cekildi*",
    "monthly": "ar: شهري | da: manedlig* | de: monatlich | es: mensual | fi: kuukausi* | fr: mensuel | "
    "it: mensile | nl: maandelijks | no: manedlig | pl: miesiecz* | pt: mensal | ro: lunar | "
    "sv: manatlig* | tr: aylik*",
    "yearly": "ar: سنوي | da: arlig* | de: jahrlich | es: anual | fi: vuosi* | fr: annuel | it: annuale | "
    "nl: jaarlijks | no: arlig | pl: roczn* | pt: anual | ro: anual | sv: arlig* | tr: yillik*",
    "delivery": "ar: وصول, يصل | da: levering | de: lieferzeit, zustellung | es: llega, entrega | fi: toimitusaika | "
    "fr: delai, livraison | it: consegna | nl: levertijd | no: leveringstid | pl: dostaw* | "
    "pt: prazo de entrega | ro: livrare | sv: leveranstid | tr: teslim*",
    "company": "ar: شركه | da: virksomhed* | de: firma, unternehmen | es: empresa | fi: yritys*, yrityks* | "
    "fr: entreprise, societe | it: azienda | nl: bedrijf | no: bedrift* | pl: firm* | pt: empresa | "
    "ro: companie, firma | sv: foretag* | tr: sirket*",
    "light": "ar: ضوء, لمبه | da: lys | de: licht, leuchte, led | es: luz | fi: valo* | fr: voyant, lumiere | "
    "it: luce, spia | nl: lampje, lichtje | no: lys, lampe | pl: swiatl*, diod* | pt: luz | "
    "ro: lumina, led | sv: lampa, lampan, ljus | tr: isik*",
    "conflict": "ar: تعارض | da: konflikt* | de: konflikt* | es: conflicto* | fi: ristiri* | fr: conflit* | "
    "it: conflitto | nl: conflict* | no: konflikt* | pl: konflikt* | pt: conflito* | ro: conflict* | "
    "sv: konflikt* | tr: cakisma*",
    "lawyer": "ar: محامي, محامين, دعوى قضائيه, القضاء, المحكمه | da: advokat*, retssag | de: anwalt, anwaltin, "
    "rechtsanwalt, klage, verklagen, gericht | es: abogado*, demanda, demandar, juicio | fi: asianajaja*, "
    "lakimie*, oikeuteen, haaste* | fr: avocat*, plainte, poursuivre, tribunal, justice | it: avvocat*, "
    "denuncia, causa legale, tribunale | nl: advocaat, advocaten, rechtszaak, aanklacht | no: advokat*, "
    "soksmal, saksoke | pl: prawnik*, adwokat*, pozew, sad, sadu, pozwe | pt: advogado*, processo, "
    "processar, tribunal | ro: avocat*, proces, instanta, dau in judecata | sv: advokat*, stamma, "
    "stamning, domstol | tr: avukat*, dava*, mahkeme*",
    "journalist": "ar: صحفي, صحفيه, صحافه, اعلام | da: journalist*, presse* | de: journalist*, presse, reporter | "
    "es: periodista*, prensa, reportero | fi: toimittaja*, lehdisto* | fr: journaliste*, presse | "
    "it: giornalist*, stampa | nl: journalist*, pers | no: journalist*, presse* | pl: dziennikarz*, "
    "prasa, prasy | pt: jornalista*, imprensa | ro: jurnalist*, presa | sv: journalist*, press* | "
    "tr: gazeteci*, basin*",
    "report": "ar: ابلاغ, الابلاغ, بلاغ | da: anmelde*, rapporter* | de: melden, meldung | es: denunciar, reportar | "
    "fi: ilmoit* | fr: signaler, signalement | it: segnalare, segnalazione | nl: melden, rapporteren | "
    "no: rapporter*, melde | pl: zglos*, zglaszam | pt: denunciar, reportar | ro: raporta*, semnala* | "
    "sv: anmala, rapportera | tr: bildir*, sikayet*",
    "illegal": "ar: غير قانوني, غير شرعي, مقرصن | da: ulovlig*, piratkopi* | de: illegal*, raubkopie*, "
    "urheberrecht | es: ilegal*, pirata | fi: laiton*, laitont*, piraatti* | fr: illegal*, pirate | "
    "it: illegal*, pirata | nl: illegaal, illegale | no: ulovlig*, piratkopi* | pl: nielegaln*, "
    "piracki* | pt: ilegal*, pirata | ro: ilegal*, piratat* | sv: olaglig*, piratkopi* | tr: yasadisi*",
    "content": "ar: محتوى | da: indhold | de: inhalt, inhalte | es: contenido | fi: sisal* | fr: contenu | "
    "it: contenuto | nl: inhoud | no: innhold | pl: tresc*, tresci | pt: conteudo | ro: continut* | "
    "sv: innehall | tr: icerik*",
    "abusive": "ar: مسيء, اساءه, تحرش | da: kraenkende, misbrug | de: missbrauch, beleidigend | es: abusivo, "
    "abuso | fi: loukkaav*, haiti* | fr: abusif, abus | it: abusivo, abuso | nl: misbruik, "
    "kwetsend | no: misbruk, krenkende | pl: obrazliw*, naduzy* | pt: abusivo, abuso | ro: abuziv, "
    "abuz | sv: krankande, missbruk | tr: taciz*, kotuye*",
    "dispute": "ar: اعتراض, نزاع, البنك | da: indsigelse, bestride | de: widerspruch, ruckbuchung, "
    "zahlung zuruckbuchen | es: disputa, reclamacion, contracargo | fi: kiista* | fr: contester, "
    "contestation, litige | it: contestare, contestazione, storno | nl: betwisten, terugboeking | "
    "no: bestride, reklamasjon | pl: reklamacj*, sporn* | pt: contestar, contestacao, estorno | "
    "ro: contesta*, disputa | sv: bestrida, aterkrav | tr: itiraz*",
    "breach": "ar: اختراق, تسريب, سرقه بيانات, سرقت | da: databrud, laekket | de: datenleck, datenpanne, "
    "gestohlen | es: filtracion, brecha, robado | fi: tietomurto*, vuoto* | fr: fuite, violation de "
    "donnees, vole | it: violazione, fuga di dati, rubato | nl: datalek, gelekt | no: datainnbrudd, "
    "lekket | pl: wyciek*, naruszen* | pt: vazamento, violacao de dados | ro: bresa, scurgere | "
    "sv: dataintrang, lacka | tr: calin*, sizinti*, ihlal*",
    "add": "ar: اضيف, اضافه, اضف | da: tilfoj*, tilfoje | de: hinzufugen, fuge, hinzu | es: anadir, agregar, "
    "invito, invitar | fi: lisaa, lisata, lisaan, kutsu* | fr: ajouter, ajoute, inviter, invite | "
    "it: aggiungere, aggiungo, invitare, invito | nl: toevoegen, voeg, uitnodigen | no: legge til, legger til, "
    "inviter* | pl: doda*, zapros* | pt: adicionar, adiciono, convidar, convido | ro: adaug*, invit* | "
    "sv: lagga till, lagger till, bjuda in, bjuder in | tr: ekle*, davet*",
    "member colleague": "ar: موظف, زميل, عضو | da: medarbejder*, kolleg*, ansat* | de: mitarbeiter*, kollege*, "
    "kollegin* | "
    "es: empleado*, companero*, colega* | fi: tyontekija*, kolleg*, jasen* | fr: collegue*, employe*, "
    "salarie* | it: collega, colleghi, dipendente* | nl: collega*, medewerker* | no: ansatt*, kolleg*, "
    "medarbeider* | pl: pracownik*, wspolpracownik* | pt: colega*, funcionario* | ro: coleg*, angajat* | "
    "sv: kollega*, anstalld* | tr: calisan*, ekip arkadas*",
    "people": "ar: شخص, اشخاص | da: person, personer | de: person, personen | es: persona, personas | "
    "fi: henkilo* | fr: personne, personnes | it: persona, persone | nl: persoon, personen | "
    "no: person, personer | pl: osob* | pt: pessoa, pessoas | ro: persoan* | sv: person, personer | "
    "tr: kisi*",
    "customs": "ar: جمارك, الجمارك | da: told | de: zoll, zollgebuhren | es: aduana* | fi: tulli* | fr: douane* | "
    "it: dogana, dogana | nl: douane, invoerrechten | no: toll, tollen | pl: clo, cla | "
    "pt: alfandega | ro: vama, taxe vamale | sv: tull, tullen | tr: gumruk*",
    "turn on": "ar: تفعيل, افعل, فعل | da: sla til, aktiver* | de: aktivieren, einschalten | es: activar, "
    "habilitar | fi: ottaa kayttoon, otan kayttoon, ota kayttoon, aktivoi* | fr: activer | "
    "it: attivare, abilitare | nl: inschakelen, aanzetten, activeren | no: sla pa, aktiver* | "
    "pl: wlaczyc, wlacz*, aktywowa* | pt: ativar, habilitar | ro: activa*, activez | "
    "sv: sla pa, aktivera | tr: etkinlestir*, ac*",
    "access": "ar: وصول, صلاحيه الوصول | da: adgang | de: zugriff, zugang | es: acceso | fi: paasy*, "
    "kayttooikeu* | fr: acces | it: accesso | nl: toegang | no: tilgang | pl: dostep* | pt: acesso | "
    "ro: acces | sv: atkomst, tillgang | tr: erisim*",
    "receive": "ar: استلام, استقبال | da: modtage, modtag* | de: erhalten, empfangen, bekommen | es: recibir | "
    "fi: vastaanot*, saada | fr: recevoir | it: ricevere | nl: ontvangen | no: motta | pl: otrzyma* | "
    "pt: receber | ro: primi, primesc | sv: ta emot, fa | tr: al*",
    "stored": "ar: مخزنه, تخزين البيانات | da: gemt, opbevaret | de: gespeichert | es: almacenados, guardados | "
    "fi: tallennet*, sailytet* | fr: stockees, stockes, heberge* | it: archiviati, conservati | "
    "nl: opgeslagen | no: lagret | pl: przechowywan* | pt: armazenados, guardados | ro: stocate | "
    "sv: lagrad, lagrade | tr: saklan*, depolan*",
    "someone else": "ar: شخص اخر, احد غيري | da: en anden | de: jemand anderes, fremder | es: otra persona, "
    "alguien mas | fi: joku muu | fr: quelqu un d autre | it: qualcun altro | nl: iemand anders | "
    "no: noen andre | pl: ktos inny | pt: outra pessoa, alguem mais | ro: altcineva | "
    "sv: nagon annan | tr: baska biri*",
}


def _parse_phrases(text: str) -> list[str]:
    return [phrase.strip() for phrase in text.split(",") if phrase.strip()]


def _parse_keyword_rows(rows: Mapping[str, str]) -> dict[str, dict[str, list[str]]]:
    """Turn "lang: a, b | lang: c" rows into {english: {lang: [phrases]}}."""
    table: dict[str, dict[str, list[str]]] = {}
    for english, row in rows.items():
        per_language: dict[str, list[str]] = {}
        for cell in row.split("|"):
            language, _, phrases = cell.partition(":")
            per_language[language.strip()] = _parse_phrases(phrases)
        table[english] = per_language
    return table


KEYWORDS: dict[str, dict[str, list[str]]] = _parse_keyword_rows(_KEYWORD_ROWS)


# --- Matching -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """A lexicon phrase found in a message: its label, its language and the token span it covers."""

    label: str
    language: str
    start: int
    end: int


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def within_one_edit(a: str, b: str) -> bool:
    """True when a and b differ by one insertion, deletion, substitution or swap of neighbours; five-letter words
    only by a swap ("humna"), since one other letter makes another word too often ("stuff", "staff")."""
    if a == b:
        return True
    if min(len(a), len(b)) <= FUZZY_MIN_LENGTH and (len(a) != len(b) or sorted(a) != sorted(b)):
        return False
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
        )
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


FUZZY_MIN_LENGTH = 5


@dataclass(frozen=True, slots=True)
class _Pattern:
    word: str
    prefix: bool
    fuzzy: bool


class PhraseMatcher:
    """Finds lexicon phrases in token lists, tolerating one typo in whole words of five letters or more.

    `fuzzy_labels` limits typo tolerance to some labels: short inflected verbs ("puedo", "puede") must match exactly.
    """

    def __init__(
        self, table: Mapping[str, Mapping[str, str | Sequence[str]]], *, fuzzy_labels: Iterable[str] | None = None
    ) -> None:
        fuzzy_for = set(fuzzy_labels) if fuzzy_labels is not None else set(table)
        self._patterns: list[_Pattern] = []
        pattern_ids: dict[_Pattern, int] = {}
        self._phrases: list[tuple[str, str, tuple[int, ...]]] = []
        self._exact: dict[str, set[int]] = {}
        self._fuzzy: dict[str, set[int]] = {}
        self._prefix: dict[int, dict[str, set[int]]] = {}
        self._by_first: dict[int, list[int]] = {}
        self._cache: dict[str, frozenset[int]] = {}
        for label, per_language in table.items():
            for language, phrases in per_language.items():
                for phrase in _parse_phrases(phrases) if isinstance(phrases, str) else phrases:
                    patterns = self._compile(phrase, label in fuzzy_for)
                    ids = tuple(self._intern(pattern, pattern_ids) for pattern in patterns)
                    if ids:
                        self._by_first.setdefault(ids[0], []).append(len(self._phrases))
                        self._phrases.append((label, language, ids))

    @staticmethod
    def _compile(phrase: str, fuzzy: bool) -> list[_Pattern]:
        patterns: list[_Pattern] = []
        for raw in phrase.split():
            parts = words(raw.rstrip("*"))
            for index, word in enumerate(parts):
                prefix = raw.endswith("*") and index == len(parts) - 1
                patterns.append(_Pattern(word, prefix, fuzzy and len(word) >= FUZZY_MIN_LENGTH))
        return patterns

    def _intern(self, pattern: _Pattern, ids: dict[_Pattern, int]) -> int:
        if pattern in ids:
            return ids[pattern]
        number = len(self._patterns)
        ids[pattern] = number
        self._patterns.append(pattern)
        if pattern.prefix:
            self._prefix.setdefault(len(pattern.word), {}).setdefault(pattern.word, set()).add(number)
        else:
            self._exact.setdefault(pattern.word, set()).add(number)
            if pattern.fuzzy:
                for variant in {pattern.word, *_deletions(pattern.word)}:
                    self._fuzzy.setdefault(variant, set()).add(number)
        return number

    def _lookup(self, token: str) -> frozenset[int]:
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        found: set[int] = set()
        for variant in _token_variants(token):
            found |= self._exact.get(variant, set())
            for size, prefixes in self._prefix.items():
                found |= prefixes.get(variant[:size], set()) if len(variant) >= size else set()
            if len(variant) >= FUZZY_MIN_LENGTH:
                for key in {variant, *_deletions(variant)}:
                    found |= {n for n in self._fuzzy.get(key, ()) if within_one_edit(variant, self._patterns[n].word)}
        result = frozenset(found)
        if len(self._cache) < 50_000:
            self._cache[token] = result
        return result

    def find(self, tokens: Sequence[str], labels: Iterable[str] | None = None) -> list[Match]:
        """Every phrase occurrence in the tokens, optionally only for some labels."""
        wanted = set(labels) if labels is not None else None
        found = [self._lookup(token) for token in tokens]
        matches: list[Match] = []
        for start, ids in enumerate(found):
            for first in ids:
                for phrase_index in self._by_first.get(first, ()):
                    label, language, pattern_ids = self._phrases[phrase_index]
                    if wanted is not None and label not in wanted:
                        continue
                    end = start + len(pattern_ids)
                    if end <= len(tokens) and all(
                        pattern_ids[k] in found[start + k] for k in range(1, len(pattern_ids))
                    ):
                        matches.append(Match(label, language, start, end))
        return sorted(set(matches), key=lambda m: (m.start, -m.end, m.label))


_ARABIC_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال", "و", "ب", "ل", "ف", "ك")
_ARABIC_SUFFIXES = ("هما", "كم", "هم", "ها", "نا", "ات", "ين", "ون", "ي", "ك", "ه", "ا")


def _token_variants(token: str) -> tuple[str, ...]:
    """Arabic words carry attached particles and pronouns (وال…، …ي، …نا): try the word without them as well."""
    if not _ARABIC_WORD.match(token) or len(token) < 4:
        return (token,)
    stems = [token] + [token[len(p) :] for p in _ARABIC_PREFIXES if token.startswith(p) and len(token) - len(p) >= 3]
    variants = list(stems)
    for stem in stems:
        variants.extend(stem[: -len(x)] for x in _ARABIC_SUFFIXES if stem.endswith(x) and len(stem) - len(x) >= 3)
    return tuple(dict.fromkeys(variants))


# --- English synonyms for plain-language handoff topics ----------------------------------------------------------
# Keyed by a topic word (or its stem); a visitor rarely uses the topic's own words ("money back" for a refund).

TOPIC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "refund": ("money back", "reimburse", "reimbursement", "repay", "refunded", "pay back"),
    "cancel": ("unsubscribe", "terminate", "end", "stop", "quit", "cancellation"),
    "subscription": ("plan", "membership", "renewal", "subscribe", "paid plan"),
    "account": ("profile",),
    "deletion": ("delete", "remove", "erase", "close", "deactivate", "wipe"),
    "delete": ("remove", "erase", "close", "deactivate", "wipe", "deletion"),
    "legal": ("lawyer", "attorney", "lawsuit", "sue", "court", "solicitor", "legal action"),
    "threat": ("threaten", "lawyer", "attorney", "sue", "court"),
    "lawyer": ("attorney", "solicitor", "lawsuit", "sue", "court", "legal action", "legal team"),
    "breach": (
        "hacked",
        "hack",
        "compromised",
        "leak",
        "leaked",
        "unauthorized",
        "intrusion",
        "got into",
        "broke into",
        "break in",
        "accessed without",
    ),
    "data": ("file", "files", "information", "documents"),
    "security": ("hacked", "compromised", "breach", "unauthorized", "suspicious"),
    "incident": ("breach", "attack", "hacked", "compromised", "suspicious", "unauthorized", "got into"),
    "chargeback": ("charge back", "disputed the payment", "disputed the charge", "reversed the charge"),
    "payment": ("charge", "charged", "card", "bank", "transaction", "pay"),
    "dispute": ("disputed", "contest", "contested", "chargeback", "reversal", "reverse"),
    "press": ("journalist", "media", "newspaper", "magazine", "interview", "news outlet"),
    "media": ("journalist", "newspaper", "magazine", "interview", "news outlet", "podcast"),
    "reporting": ("report", "flag", "notify"),
    "report": ("reporting", "flag", "notify"),
    "illegal": ("pirated", "piracy", "copyright", "unlawful", "counterfeit", "criminal", "infringing"),
    "abusive": ("abuse", "harassment", "hateful", "threatening", "spam", "phishing", "malware", "exploitation"),
    "content": ("file", "files", "link", "material", "video", "movie", "movies", "photo", "images"),
    "complaint": ("complain", "dissatisfied", "unhappy"),
    "billing": ("invoice", "charge", "payment", "bill"),
    "sales": ("quote", "purchase", "enterprise", "demo"),
    "partnership": ("partner", "reseller", "affiliate"),
    "privacy": ("gdpr", "personal data", "data protection"),
    "outage": ("down", "not loading", "unavailable"),
}

# Topic words whose everyday sense in a support chat is another one ("press the button"): only synonyms count.
TOPIC_WORDS_BY_SYNONYM_ONLY: frozenset[str] = frozenset({"press"})

# Everyday English words for things help articles name otherwise.
ENGLISH_SYNONYMS: dict[str, tuple[str, ...]] = {
    "laptop": ("computer",),
    "pc": ("computer",),
    "mac": ("computer",),
    "macbook": ("computer",),
    "iphone": ("phone",),
    "android": ("phone",),
    "cellphone": ("phone",),
    "smartphone": ("phone",),
    "ipad": ("tablet",),
    "kids": ("family",),
    "children": ("family",),
    "wife": ("family",),
    "husband": ("family",),
    "spouse": ("family",),
    "partner": ("family",),
    "colleague": ("member", "team"),
    "coworker": ("member", "team"),
    "employee": ("member", "team"),
    "staff": ("team",),
    "login": ("sign",),
    "logged": ("signed",),
    "logout": ("sign out",),
    "orange": ("amber",),
    "pics": ("photos",),
    "pictures": ("photos",),
    "images": ("photos",),
    "movie": ("video",),
    "clip": ("video",),
    "pdf": ("document",),
    "pdfs": ("documents",),
    "wifi": ("wi-fi",),
    "erase": ("delete",),
    "wipe": ("delete",),
    "undelete": ("restore",),
    "recover": ("restore",),
    "undo": ("restore",),
    "unsubscribe": ("cancel",),
    "bill": ("invoice",),
    "receipt": ("invoice",),
    "cost": ("price",),
    "fee": ("price",),
    "cheaper": ("discount",),
    "2fa": ("two-step verification",),
    "mfa": ("two-step verification",),
    "authenticator": ("two-step",),
    "backup": ("back up",),
    "quota": ("storage",),
    "space": ("storage",),
}
