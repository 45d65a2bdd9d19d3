"""Every sentence the agent says to a visitor, in the 15 visitor languages: the one translation table."""

from __future__ import annotations

from datetime import datetime

DEFAULT_LANGUAGE = "en"

MESSAGES: dict[str, dict[str, str]] = {
    "handoff": {
        "en": "I'm connecting you with a person from our team. They will reply right here.",
        "ar": "سأقوم بتحويلك إلى أحد أعضاء فريقنا. سيرد عليك هنا مباشرة.",
        "da": "Jeg sætter dig i forbindelse med en person fra vores team. De svarer lige her.",
        "de": "Ich verbinde dich mit einer Person aus unserem Team. Sie antwortet direkt hier.",
        "es": "Te estoy poniendo en contacto con una persona de nuestro equipo. Te responderá aquí mismo.",
        "fi": "Yhdistän sinut tiimimme jäseneen. Hän vastaa sinulle tässä.",
        "fr": "Je vous mets en relation avec une personne de notre équipe. Elle vous répondra ici.",
        "it": "Ti metto in contatto con una persona del nostro team. Ti risponderà qui.",
        "nl": "Ik verbind je door met iemand van ons team. Diegene antwoordt hier.",
        "no": "Jeg setter deg i kontakt med en person fra teamet vårt. De svarer her.",
        "pl": "Łączę Cię z osobą z naszego zespołu. Odpowie tutaj.",
        "pt": "Estou transferindo você para uma pessoa da nossa equipe. Ela responderá aqui mesmo.",
        "ro": "Te pun în legătură cu o persoană din echipa noastră. Îți va răspunde chiar aici.",
        "sv": "Jag kopplar dig till en person i vårt team. De svarar här.",
        "tr": "Sizi ekibimizden birine bağlıyorum. Size buradan yanıt verecek.",
    },
    "handoff_out_of_hours": {
        "en": "Our team is offline right now. A person will answer you here when we open: {opening}.",
        "ar": "فريقنا غير متصل الآن. سيرد عليك أحد أعضاء الفريق هنا عندما نفتح: {opening}.",
        "da": "Vores team er offline lige nu. En person svarer dig her, når vi åbner: {opening}.",
        "de": "Unser Team ist gerade nicht erreichbar. Eine Person antwortet dir hier, sobald wir öffnen: {opening}.",
        "es": "Nuestro equipo no está disponible ahora. Una persona te responderá aquí cuando abramos: {opening}.",
        "fi": "Tiimimme ei ole nyt paikalla. Henkilö vastaa sinulle tässä, kun aukeamme: {opening}.",
        "fr": "Notre équipe est absente pour le moment. Une personne vous répondra ici à notre ouverture : {opening}.",
        "it": "Il nostro team non è disponibile ora. Una persona ti risponderà qui all'apertura: {opening}.",
        "nl": "Ons team is nu offline. Iemand antwoordt je hier zodra we open zijn: {opening}.",
        "no": "Teamet vårt er frakoblet nå. En person svarer deg her når vi åpner: {opening}.",
        "pl": "Nasz zespół jest teraz niedostępny. Osoba odpowie Ci tutaj, gdy zaczniemy pracę: {opening}.",
        "pt": "A nossa equipe está offline agora. Uma pessoa responderá aqui quando abrirmos: {opening}.",
        "ro": "Echipa noastră nu este disponibilă acum. O persoană îți va răspunde aici când deschidem: {opening}.",
        "sv": "Vårt team är inte tillgängligt just nu. En person svarar dig här när vi öppnar: {opening}.",
        "tr": "Ekibimiz şu anda çevrimdışı. Açıldığımızda biri size buradan yanıt verecek: {opening}.",
    },
    "ask_email": {
        "en": "Our team is offline right now (we open {opening}). Leave your email address and a person will reply "
        "by email.",
        "ar": "فريقنا غير متصل الآن (نفتح {opening}). اترك بريدك الإلكتروني وسيرد عليك أحد أعضاء الفريق عبر البريد.",
        "da": "Vores team er offline lige nu (vi åbner {opening}). Skriv din e-mailadresse, så svarer en person "
        "på e-mail.",
        "de": "Unser Team ist gerade nicht erreichbar (wir öffnen {opening}). Hinterlasse deine E-Mail-Adresse, "
        "dann antwortet dir eine Person per E-Mail.",
        "es": "Nuestro equipo no está disponible ahora (abrimos {opening}). Déjanos tu correo electrónico y una "
        "persona te responderá por correo.",
        "fi": "Tiimimme ei ole nyt paikalla (aukeamme {opening}). Jätä sähköpostiosoitteesi, niin henkilö vastaa "
        "sähköpostitse.",
        "fr": "Notre équipe est absente pour le moment (ouverture {opening}). Laissez votre adresse e-mail et une "
        "personne vous répondra par e-mail.",
        "it": "Il nostro team non è disponibile ora (apriamo {opening}). Lascia il tuo indirizzo email e una "
        "persona ti risponderà via email.",
        "nl": "Ons team is nu offline (we openen {opening}). Laat je e-mailadres achter, dan antwoordt iemand "
        "per e-mail.",
        "no": "Teamet vårt er frakoblet nå (vi åpner {opening}). Legg igjen e-postadressen din, så svarer en "
        "person på e-post.",
        "pl": "Nasz zespół jest teraz niedostępny (otwieramy {opening}). Zostaw swój adres e-mail, a osoba z "
        "zespołu odpowie mailowo.",
        "pt": "A nossa equipe está offline agora (abrimos {opening}). Deixe o seu e-mail e uma pessoa responderá "
        "por e-mail.",
        "ro": "Echipa noastră nu este disponibilă acum (deschidem {opening}). Lasă adresa ta de e-mail și o "
        "persoană îți va răspunde pe e-mail.",
        "sv": "Vårt team är inte tillgängligt just nu (vi öppnar {opening}). Lämna din e-postadress så svarar en "
        "person via e-post.",
        "tr": "Ekibimiz şu anda çevrimdışı (açılış: {opening}). E-posta adresinizi bırakın, biri size e-postayla "
        "yanıt versin.",
    },
    "email_received": {
        "en": "Thank you. A person from our team will reply to {email} when we open: {opening}.",
        "ar": "شكرًا لك. سيرد أحد أعضاء فريقنا على {email} عندما نفتح: {opening}.",
        "da": "Tak. En person fra vores team svarer til {email}, når vi åbner: {opening}.",
        "de": "Danke. Eine Person aus unserem Team antwortet an {email}, sobald wir öffnen: {opening}.",
        "es": "Gracias. Una persona de nuestro equipo responderá a {email} cuando abramos: {opening}.",
        "fi": "Kiitos. Tiimimme jäsen vastaa osoitteeseen {email}, kun aukeamme: {opening}.",
        "fr": "Merci. Une personne de notre équipe répondra à {email} à notre ouverture : {opening}.",
        "it": "Grazie. Una persona del nostro team risponderà a {email} all'apertura: {opening}.",
        "nl": "Dank je. Iemand van ons team antwoordt naar {email} zodra we open zijn: {opening}.",
        "no": "Takk. En person fra teamet vårt svarer til {email} når vi åpner: {opening}.",
        "pl": "Dziękujemy. Osoba z naszego zespołu odpowie na {email}, gdy zaczniemy pracę: {opening}.",
        "pt": "Obrigado. Uma pessoa da nossa equipe responderá para {email} quando abrirmos: {opening}.",
        "ro": "Mulțumim. O persoană din echipa noastră va răspunde la {email} când deschidem: {opening}.",
        "sv": "Tack. En person i vårt team svarar till {email} när vi öppnar: {opening}.",
        "tr": "Teşekkürler. Ekibimizden biri açıldığımızda {email} adresine yanıt verecek: {opening}.",
    },
    "decline_handoff": {
        "en": "I'm sorry, no one from our team is available in this chat, but I'm happy to keep helping. "
        "What do you need?",
        "ar": "عذرًا، لا يتوفر أحد من فريقنا في هذه المحادثة، لكن يسعدني مواصلة مساعدتك. ماذا تحتاج؟",
        "da": "Beklager, ingen fra vores team er tilgængelig i denne chat, men jeg hjælper gerne videre. "
        "Hvad har du brug for?",
        "de": "Tut mir leid, in diesem Chat ist niemand aus unserem Team verfügbar, aber ich helfe gern weiter. "
        "Was brauchst du?",
        "es": "Lo siento, nadie de nuestro equipo está disponible en este chat, pero con gusto sigo ayudándote. "
        "¿Qué necesitas?",
        "fi": "Valitettavasti tiimistämme ei ole ketään tavoitettavissa tässä chatissa, mutta autan mielelläni. "
        "Mitä tarvitset?",
        "fr": "Désolé, personne de notre équipe n'est disponible dans ce chat, mais je continue volontiers à vous "
        "aider. De quoi avez-vous besoin ?",
        "it": "Mi dispiace, nessuno del nostro team è disponibile in questa chat, ma continuo volentieri ad "
        "aiutarti. Di cosa hai bisogno?",
        "nl": "Sorry, er is niemand van ons team beschikbaar in deze chat, maar ik help je graag verder. "
        "Waar kan ik mee helpen?",
        "no": "Beklager, ingen fra teamet vårt er tilgjengelig i denne chatten, men jeg hjelper gjerne videre. "
        "Hva trenger du?",
        "pl": "Przepraszam, nikt z naszego zespołu nie jest dostępny na tym czacie, ale chętnie pomogę dalej. "
        "Czego potrzebujesz?",
        "pt": "Desculpe, ninguém da nossa equipe está disponível neste chat, mas continuo a ajudar com prazer. "
        "Do que precisa?",
        "ro": "Îmi pare rău, nimeni din echipa noastră nu este disponibil în acest chat, dar te ajut cu plăcere "
        "în continuare. De ce ai nevoie?",
        "sv": "Tyvärr finns ingen från vårt team i den här chatten, men jag hjälper gärna till. Vad behöver du?",
        "tr": "Üzgünüm, bu sohbette ekibimizden kimse yok, ama yardım etmeye devam etmekten memnuniyet duyarım. "
        "Neye ihtiyacınız var?",
    },
    "decline_topic": {
        "en": "I'm sorry, I can't help with that in this chat.",
        "ar": "عذرًا، لا يمكنني المساعدة في هذا الأمر في هذه المحادثة.",
        "da": "Beklager, det kan jeg ikke hjælpe med i denne chat.",
        "de": "Tut mir leid, dabei kann ich in diesem Chat nicht helfen.",
        "es": "Lo siento, no puedo ayudarte con eso en este chat.",
        "fi": "Valitettavasti en voi auttaa siinä tässä chatissa.",
        "fr": "Désolé, je ne peux pas vous aider à ce sujet dans ce chat.",
        "it": "Mi dispiace, non posso aiutarti con questo in questa chat.",
        "nl": "Sorry, daar kan ik je in deze chat niet mee helpen.",
        "no": "Beklager, det kan jeg ikke hjelpe med i denne chatten.",
        "pl": "Przepraszam, nie mogę w tym pomóc na tym czacie.",
        "pt": "Desculpe, não posso ajudar com isso neste chat.",
        "ro": "Îmi pare rău, nu te pot ajuta cu asta în acest chat.",
        "sv": "Tyvärr kan jag inte hjälpa till med det i den här chatten.",
        "tr": "Üzgünüm, bu sohbette bu konuda yardımcı olamıyorum.",
    },
    "ask_problem": {
        "en": "Of course, I'll bring in a person. So they can help you faster: what is it about?",
        "ar": "بالتأكيد، سأحوّلك إلى أحد أعضاء الفريق. حتى يساعدك بشكل أسرع: ما هو موضوع طلبك؟",
        "da": "Selvfølgelig, jeg henter en person. Så de kan hjælpe dig hurtigere: hvad drejer det sig om?",
        "de": "Natürlich, ich hole eine Person dazu. Damit sie dir schneller helfen kann: Worum geht es?",
        "es": "Claro, te paso con una persona. Para que pueda ayudarte más rápido: ¿de qué se trata?",
        "fi": "Totta kai, pyydän paikalle henkilön. Jotta hän voi auttaa nopeammin: mistä on kyse?",
        "fr": "Bien sûr, je fais appel à une personne. Pour qu'elle vous aide plus vite : de quoi s'agit-il ?",
        "it": "Certo, chiamo una persona. Per aiutarti più in fretta: di cosa si tratta?",
        "nl": "Natuurlijk, ik haal iemand erbij. Zodat diegene je sneller kan helpen: waar gaat het over?",
        "no": "Selvsagt, jeg henter en person. Så de kan hjelpe deg raskere: hva gjelder det?",
        "pl": "Oczywiście, poproszę osobę z zespołu. Żeby mogła szybciej pomóc: czego dotyczy sprawa?",
        "pt": "Claro, vou chamar uma pessoa. Para que ela ajude mais rápido: do que se trata?",
        "ro": "Sigur, chem o persoană. Ca să te poată ajuta mai repede: despre ce este vorba?",
        "sv": "Självklart, jag hämtar en person. Så att de kan hjälpa dig snabbare: vad gäller det?",
        "tr": "Elbette, sizi birine bağlayacağım. Size daha hızlı yardımcı olabilmesi için: konu nedir?",
    },
    "try_first": {
        "en": "Here is what I found. If it doesn't solve your problem, tell me and I'll bring in a person.",
        "ar": "إليك ما وجدته. إذا لم يحل مشكلتك، أخبرني وسأحوّلك إلى أحد أعضاء الفريق.",
        "da": "Her er hvad jeg fandt. Hvis det ikke løser dit problem, så sig til, og jeg henter en person.",
        "de": "Das habe ich gefunden. Wenn es dein Problem nicht löst, sag Bescheid, und ich hole eine Person dazu.",
        "es": "Esto es lo que encontré. Si no resuelve tu problema, dímelo y te paso con una persona.",
        "fi": "Tässä mitä löysin. Jos tämä ei ratkaise ongelmaa, kerro, niin pyydän paikalle henkilön.",
        "fr": "Voici ce que j'ai trouvé. Si cela ne résout pas votre problème, dites-le-moi et je fais appel à "
        "une personne.",
        "it": "Ecco cosa ho trovato. Se non risolve il problema, dimmelo e chiamo una persona.",
        "nl": "Dit heb ik gevonden. Lost het je probleem niet op, laat het me weten en ik haal iemand erbij.",
        "no": "Her er det jeg fant. Hvis det ikke løser problemet, si fra, så henter jeg en person.",
        "pl": "Oto co znalazłem. Jeśli to nie rozwiąże problemu, daj znać, a poproszę osobę z zespołu.",
        "pt": "Aqui está o que encontrei. Se não resolver o seu problema, diga-me e eu chamo uma pessoa.",
        "ro": "Iată ce am găsit. Dacă nu îți rezolvă problema, spune-mi și chem o persoană.",
        "sv": "Här är vad jag hittade. Om det inte löser problemet, säg till så hämtar jag en person.",
        "tr": "Bulduklarım şunlar. Sorununuzu çözmezse söyleyin, sizi birine bağlayayım.",
    },
    "dont_know": {
        "en": "I couldn't find an answer to that in our help center. Could you rephrase it or add a detail?",
        "ar": "لم أجد إجابة عن ذلك في مركز المساعدة. هل يمكنك إعادة صياغة سؤالك أو إضافة تفاصيل؟",
        "da": "Jeg kunne ikke finde et svar på det i vores hjælpecenter. Kan du omformulere det eller tilføje "
        "en detalje?",
        "de": "Dazu habe ich in unserem Hilfe-Center keine Antwort gefunden. Kannst du es anders formulieren oder "
        "ein Detail ergänzen?",
        "es": "No encontré una respuesta a eso en nuestro centro de ayuda. ¿Puedes reformularlo o añadir un detalle?",
        "fi": "En löytänyt siihen vastausta ohjekeskuksestamme. Voisitko muotoilla kysymyksen toisin tai "
        "lisätä tarkennuksen?",
        "fr": "Je n'ai pas trouvé de réponse dans notre centre d'aide. Pouvez-vous reformuler ou ajouter "
        "une précision ?",
        "it": "Non ho trovato una risposta nel nostro centro assistenza. Puoi riformulare o aggiungere un dettaglio?",
        "nl": "Ik vond daar geen antwoord op in ons helpcentrum. Kun je het anders formuleren of een detail toevoegen?",
        "no": "Jeg fant ikke noe svar på det i hjelpesenteret vårt. Kan du formulere det annerledes eller legge "
        "til en detalj?",
        "pl": "Nie znalazłem odpowiedzi w naszym centrum pomocy. Czy możesz to ująć inaczej lub dodać szczegół?",
        "pt": "Não encontrei uma resposta para isso na nossa central de ajuda. Pode reformular ou acrescentar "
        "um detalhe?",
        "ro": "Nu am găsit un răspuns în centrul nostru de ajutor. Poți reformula sau adăuga un detaliu?",
        "sv": "Jag hittade inget svar på det i vårt hjälpcenter. Kan du formulera om det eller lägga till en detalj?",
        "tr": "Yardım merkezimizde buna bir yanıt bulamadım. Sorunuzu farklı ifade edebilir veya ayrıntı "
        "ekleyebilir misiniz?",
    },
    "greeting": {
        "en": "Hello! How can I help you today?",
        "ar": "مرحبًا! كيف يمكنني مساعدتك اليوم؟",
        "da": "Hej! Hvordan kan jeg hjælpe dig i dag?",
        "de": "Hallo! Wie kann ich dir heute helfen?",
        "es": "¡Hola! ¿En qué puedo ayudarte hoy?",
        "fi": "Hei! Miten voin auttaa tänään?",
        "fr": "Bonjour ! Comment puis-je vous aider aujourd'hui ?",
        "it": "Ciao! Come posso aiutarti oggi?",
        "nl": "Hallo! Waarmee kan ik je vandaag helpen?",
        "no": "Hei! Hvordan kan jeg hjelpe deg i dag?",
        "pl": "Cześć! Jak mogę dziś pomóc?",
        "pt": "Olá! Como posso ajudar hoje?",
        "ro": "Bună! Cu ce te pot ajuta astăzi?",
        "sv": "Hej! Hur kan jag hjälpa dig i dag?",
        "tr": "Merhaba! Bugün size nasıl yardımcı olabilirim?",
    },
    "wellbeing": {
        "en": "I'm the virtual assistant here and happy to help. What can I do for you?",
        "ar": "أنا المساعد الافتراضي هنا ويسعدني مساعدتك. ماذا يمكنني أن أفعل لك؟",
        "da": "Jeg er den virtuelle assistent her og hjælper gerne. Hvad kan jeg gøre for dig?",
        "de": "Ich bin hier der virtuelle Assistent und helfe gern. Was kann ich für dich tun?",
        "es": "Soy el asistente virtual y estoy encantado de ayudar. ¿Qué puedo hacer por ti?",
        "fi": "Olen täällä virtuaaliavustaja ja autan mielelläni. Mitä voin tehdä puolestasi?",
        "fr": "Je suis l'assistant virtuel et je suis là pour vous aider. Que puis-je faire pour vous ?",
        "it": "Sono l'assistente virtuale e sono felice di aiutarti. Cosa posso fare per te?",
        "nl": "Ik ben de virtuele assistent en help je graag. Wat kan ik voor je doen?",
        "no": "Jeg er den virtuelle assistenten her og hjelper gjerne. Hva kan jeg gjøre for deg?",
        "pl": "Jestem tutaj wirtualnym asystentem i chętnie pomogę. Co mogę dla Ciebie zrobić?",
        "pt": "Sou o assistente virtual e fico feliz em ajudar. O que posso fazer por você?",
        "ro": "Sunt asistentul virtual și te ajut cu plăcere. Ce pot face pentru tine?",
        "sv": "Jag är den virtuella assistenten här och hjälper gärna till. Vad kan jag göra för dig?",
        "tr": "Ben buradaki sanal asistanım ve yardımcı olmaktan memnuniyet duyarım. Sizin için ne yapabilirim?",
    },
    "thanks": {
        "en": "You're welcome! Is there anything else I can help with?",
        "ar": "على الرحب والسعة! هل هناك أي شيء آخر يمكنني المساعدة فيه؟",
        "da": "Selv tak! Er der andet, jeg kan hjælpe med?",
        "de": "Gern geschehen! Kann ich noch bei etwas anderem helfen?",
        "es": "¡De nada! ¿Hay algo más en lo que pueda ayudarte?",
        "fi": "Ole hyvä! Voinko auttaa vielä jossain muussa?",
        "fr": "Avec plaisir ! Puis-je vous aider pour autre chose ?",
        "it": "Prego! Posso aiutarti con qualcos'altro?",
        "nl": "Graag gedaan! Kan ik je nog ergens anders mee helpen?",
        "no": "Bare hyggelig! Er det noe annet jeg kan hjelpe med?",
        "pl": "Proszę bardzo! Czy mogę pomóc w czymś jeszcze?",
        "pt": "De nada! Posso ajudar em mais alguma coisa?",
        "ro": "Cu plăcere! Te mai pot ajuta cu ceva?",
        "sv": "Varsågod! Finns det något mer jag kan hjälpa till med?",
        "tr": "Rica ederim! Yardımcı olabileceğim başka bir şey var mı?",
    },
    "goodbye": {
        "en": "Glad I could help. Have a great day!",
        "ar": "سعيد بأنني استطعت المساعدة. أتمنى لك يومًا رائعًا!",
        "da": "Godt at jeg kunne hjælpe. Hav en god dag!",
        "de": "Schön, dass ich helfen konnte. Einen schönen Tag noch!",
        "es": "Me alegra haber ayudado. ¡Que tengas un buen día!",
        "fi": "Kiva, että pystyin auttamaan. Hyvää päivänjatkoa!",
        "fr": "Ravi d'avoir pu vous aider. Bonne journée !",
        "it": "Felice di averti aiutato. Buona giornata!",
        "nl": "Fijn dat ik kon helpen. Nog een fijne dag!",
        "no": "Godt at jeg kunne hjelpe. Ha en fin dag!",
        "pl": "Cieszę się, że mogłem pomóc. Miłego dnia!",
        "pt": "Que bom que pude ajudar. Tenha um ótimo dia!",
        "ro": "Mă bucur că am putut ajuta. O zi bună!",
        "sv": "Kul att jag kunde hjälpa till. Ha en bra dag!",
        "tr": "Yardımcı olabildiğime sevindim. İyi günler!",
    },
    "answer_in_english": {
        "en": "",
        "ar": "إليك ما يقوله مركز المساعدة (بالإنجليزية):",
        "da": "Her er hvad vores hjælpecenter siger (på engelsk):",
        "de": "Das steht in unserem Hilfe-Center (auf Englisch):",
        "es": "Esto es lo que dice nuestro centro de ayuda (en inglés):",
        "fi": "Näin ohjekeskuksemme kertoo (englanniksi):",
        "fr": "Voici ce qu'indique notre centre d'aide (en anglais) :",
        "it": "Ecco cosa dice il nostro centro assistenza (in inglese):",
        "nl": "Dit zegt ons helpcentrum (in het Engels):",
        "no": "Dette står i hjelpesenteret vårt (på engelsk):",
        "pl": "Oto co mówi nasze centrum pomocy (po angielsku):",
        "pt": "Isto é o que diz a nossa central de ajuda (em inglês):",
        "ro": "Iată ce spune centrul nostru de ajutor (în engleză):",
        "sv": "Så här står det i vårt hjälpcenter (på engelska):",
        "tr": "Yardım merkezimiz şöyle diyor (İngilizce):",
    },
    "source": {
        "en": "Source",
        "ar": "المصدر",
        "da": "Kilde",
        "de": "Quelle",
        "es": "Fuente",
        "fi": "Lähde",
        "fr": "Source",
        "it": "Fonte",
        "nl": "Bron",
        "no": "Kilde",
        "pl": "Źródło",
        "pt": "Fonte",
        "ro": "Sursă",
        "sv": "Källa",
        "tr": "Kaynak",
    },
}

WEEKDAYS: dict[str, tuple[str, str, str, str, str, str, str]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ar": ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"),
    "da": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "fi": ("maanantai", "tiistai", "keskiviikko", "torstai", "perjantai", "lauantai", "sunnuntai"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "it": ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"),
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "no": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "pl": ("poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela"),
    "pt": ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo"),
    "ro": ("luni", "marți", "miercuri", "joi", "vineri", "sâmbătă", "duminică"),
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "tr": ("Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi", "Pazar"),
}


def copy_language(language: str | None) -> str:
    """The table's language for a BCP-47 code (`pt-BR` → `pt`, `nb` → `no`), English when we have none."""
    base = (language or DEFAULT_LANGUAGE).split("-")[0].lower()
    base = "no" if base in ("nb", "nn") else base
    return base if base in WEEKDAYS else DEFAULT_LANGUAGE


def text(key: str, language: str | None, **values: str) -> str:
    """A visitor-facing sentence in the visitor's language, with its placeholders filled."""
    return MESSAGES[key][copy_language(language)].format(**values)


def format_opening(moment: datetime, language: str | None) -> str:
    """When we open, as the visitor reads it: weekday, time and the team's time zone."""
    weekday = WEEKDAYS[copy_language(language)][moment.weekday()]
    zone = moment.tzname() or ""
    return f"{weekday} {moment:%H:%M} {zone}".strip()


def all_translations(key: str) -> tuple[str, ...]:
    """Every language's version of a sentence, to recognise it later in a transcript."""
    return tuple(MESSAGES[key].values())
