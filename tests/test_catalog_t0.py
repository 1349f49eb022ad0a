"""Tests for the T0 catalog (`flanjax.data.catalog.t0`) and its promptsource templates.

Every entry gets a hand-written row in the real Hugging Face schema of its dataset (column
names and types as `datasets` yields them); every template must render it. The HfSource
path is run end to end on a JSON-lines file through the `datasets` json builder (offline).
"""

from __future__ import annotations

import collections
import json

import pytest

from flanjax.data import sources
from flanjax.data.catalog import registry
from flanjax.data.catalog import t0

SQUAD_ANSWERS = {"text": ["Marie Curie"], "answer_start": [0]}
CONTEXT = "Marie Curie won the Nobel Prize in Physics in 1903 and in Chemistry in 1911."

# One labelled row per entry, in the HF schema of its dataset.
ROWS = {
    # ------------------------------------------------------------------ held out
    "t0_anli_r1": {"uid": "a1", "premise": "The cat sat on the mat all afternoon.",
                   "hypothesis": "The cat was sitting.", "label": 0, "reason": ""},
    "t0_super_glue_cb": {"premise": "It was raining, so she took an umbrella.",
                         "hypothesis": "She took an umbrella.", "idx": 3, "label": 2},
    "t0_super_glue_rte": {"premise": "Paris is the capital of France.",
                          "hypothesis": "France has a capital.", "idx": 0, "label": 1},
    "t0_super_glue_wsc_fixed": {
        "text": "Mark told Pete many lies about himself, which Pete included in his book.",
        "span1_index": 0, "span2_index": 13, "span1_text": "Mark", "span2_text": "He",
        "idx": 5, "label": 1},
    "t0_winogrande_xl": {"sentence": "The trophy doesn't fit in the case because the _ is too big.",
                         "option1": "trophy", "option2": "case", "answer": "1"},
    "t0_super_glue_copa": {"premise": "The man broke his toe.",
                           "choice1": "He dropped a hammer on his foot.",
                           "choice2": "He got a hole in his sock.", "question": "cause", "idx": 1,
                           "label": 0},
    "t0_hellaswag": {"ind": 24, "activity_label": "Roof shingle removal",
                     "ctx_a": "A man is sitting on a roof.", "ctx_b": "he",
                     "ctx": "A man is sitting on a roof. he",
                     "endings": ["is using wrap to wrap a pair of skis.",
                                 "is ripping level tiles off.", "is holding a rubik's cube.",
                                 "starts pulling up roofing on a roof."],
                     "source_id": "activitynet~v_-JhWjGDPHMY", "split": "val",
                     "split_type": "indomain", "label": "3"},
    "t0_story_cloze_2016": {
        "story_id": "138d5bfb", "input_sentence_1": "Rick grew up in a troubled household.",
        "input_sentence_2": "He never found good support in family.",
        "input_sentence_3": "He turned to gangs.", "input_sentence_4": "It was a long road.",
        "sentence_quiz1": "He is happy now.", "sentence_quiz2": "He joined a gang.",
        "answer_right_ending": 1},
    "t0_super_glue_wic": {"word": "place",
                          "sentence1": "Do you want to come over to my place later?",
                          "sentence2": "A political system with no place for the less "
                                       "prominent groups.",
                          "start1": 31, "start2": 27, "end1": 36, "end2": 32, "idx": 0, "label": 0},
    # ------------------------------------------------------------------ multiple-choice QA
    "t0_commonsense_qa": {"id": "075e", "question": "Where would you find a seat on a bus?",
                          "choices": ["bus", "theatre", "cinema", "park", "stadium"],
                          "answer": "bus",
                          "abstractive_explanation": "Buses have seats.",
                          "extractive_explanation": "seat on a bus"},
    "t0_dream": {"id": 0, "dialogue_id": "5-510",
                 "dialogue": ["M: I am considering dropping my dancing class.", "W: Why?"],
                 "question": "What does the man want to do?",
                 "choice": ["Drop a class.", "Take a class.", "Dance."], "answer": "Drop a class."},
    "t0_quail": {"id": "f001_0", "context_id": "f001", "question_id": "0", "domain": "fiction",
                 "metadata": {"author": "A", "title": "T", "url": "u"},
                 "context": "Tom walked to the store to buy milk.",
                 "question": "Why did Tom walk to the store?", "question_type": "Causality",
                 "answers": ["To buy milk", "To run", "To sleep", "not enough information"],
                 "correct_answer_id": 0},
    "t0_quartz": {"id": "q1", "question": "If Mona moves a magnet closer, the force is",
                  "choices": {"text": ["greater", "smaller"], "label": ["A", "B"]},
                  "answerKey": "A", "para": "Closer magnets attract more strongly.",
                  "para_id": "p1",
                  "para_anno": {"effect_prop": "force", "cause_dir_str": "closer",
                                "effect_dir_str": "stronger", "cause_dir_sign": "MORE",
                                "effect_dir_sign": "MORE", "cause_prop": "distance"},
                  "question_anno": {"more_effect_dir": "greater", "less_effect_dir": "smaller",
                                    "less_cause_prop": "", "more_effect_prop": "",
                                    "less_effect_prop": "", "less_cause_dir": "",
                                    "more_cause_dir": "", "more_cause_prop": ""}},
    "t0_social_i_qa": {"context": "Cameron decided to have a barbecue and gathered her friends.",
                       "question": "How would Others feel as a result?",
                       "answerA": "like attending",
                       "answerB": "like staying home", "answerC": "a good friend to have",
                       "label": "1"},
    "t0_wiqa": {"question_stem": "suppose more rain falls happens, how will it affect more "
                                 "erosion?",
                "question_para_step": ["Rain falls", "Water flows", "Soil washes away", ""],
                "answer_label": "no_effect", "answer_label_as_choice": "C",
                "choices": {"text": ["more", "less", "no effect"], "label": ["A", "B", "C"]},
                "metadata_question_id": "q", "metadata_graph_id": "1", "metadata_para_id": "2",
                "metadata_question_type": "INPARA_EFFECT", "metadata_path_len": 2},
    "t0_cosmos_qa": {"id": "c1", "context": "I woke up late and missed the bus.",
                     "question": "What may happen next?", "answer0": "I will walk to work.",
                     "answer1": "I will sleep.", "answer2": "I will fly.",
                     "answer3": "None of the above",
                     "label": 0},
    "t0_qasc": {"id": "3E7", "question": "What type of water formation is formed by clouds?",
                "choices": {"text": ["pearls", "beads"], "label": ["A", "B"]}, "answerKey": "B",
                "fact1": "beads of water are formed by water vapor condensing",
                "fact2": "Clouds are made of water vapor.",
                "combinedfact": "Beads of water can be formed by clouds.",
                "formatted_question": "What type of water formation is formed by clouds? "
                                      "(A) pearls (B) beads"},
    "t0_quarel": {"id": "QuaRel_V1_B5_1403", "answer_index": 1,
                  "logical_forms": ["(infer (speed higher world1) ...)"],
                  "logical_form_pretty": "qrel(speed, higher, world1)",
                  "world_literals": {"world1": ["carpet"], "world2": ["floor"]},
                  "question": "A ball rolls faster on the floor than on the carpet. Which has less "
                              "friction? (A) carpet (B) floor"},
    "t0_sciq": {"question": "What type of organism is commonly used in preparation of foods?",
                "distractor3": "viruses", "distractor1": "protozoa", "distractor2": "gymnosperms",
                "correct_answer": "mesophilic organisms",
                "support": "Mesophiles grow best in moderate temperature."},
    "t0_wiki_hop_original": {"id": "WH_train_0", "question": "country_of_citizenship john smith",
                             "answer": "england", "candidates": ["england", "france"],
                             "supports": ["John Smith was an English explorer.", "He sailed."],
                             "annotations": []},
    # ------------------------------------------------------------------ extractive QA
    "t0_adversarial_qa_dbidaf": {"id": "a", "title": "Curie", "context": CONTEXT,
                                 "question": "Who won two Nobel Prizes?", "answers": SQUAD_ANSWERS,
                                 "metadata": {"split": "train", "model_in_the_loop": "BiDAF"}},
    "t0_quoref": {"id": "q", "question": "Who won the prize in 1903?", "context": CONTEXT,
                  "title": "Curie", "url": "https://example.org", "answers": SQUAD_ANSWERS},
    "t0_duorc_paraphrase_rc": {"plot_id": "p", "plot": "A detective hunts a thief across Paris.",
                               "title": "The Chase", "question_id": "q",
                               "question": "Where does the hunt happen?", "answers": ["Paris"],
                               "no_answer": False},
    "t0_ropes": {"id": "r", "background": "Acid rain harms forests.",
                 "situation": "Town A has acid rain; town B does not.",
                 "question": "Which town has healthier forests?", "answers": {"text": ["town B"]}},
    # ------------------------------------------------------------------ closed-book QA
    "t0_hotpot_qa": {"id": "h", "input": "Which city is the birthplace of the author of Dracula?",
                     "meta": {"left_context": "", "mention": "", "right_context": "",
                              "partial_evidence": [], "obj_surface": [], "sub_surface": [],
                              "subj_aliases": [], "template_questions": []},
                     "output": [{"answer": "Dublin", "meta": {"score": 0}, "provenance": []}]},
    "t0_wiki_qa": {"question_id": "Q1", "question": "how are glacier caves formed?",
                   "document_title": "Glacier cave",
                   "answer": "A glacier cave is a cave formed within the ice of a glacier.",
                   "label": 1},
    # ------------------------------------------------------------------ sentiment
    "t0_amazon_polarity": {"label": 1, "title": "Great blender",
                           "content": "It crushes ice in seconds."},
    "t0_app_reviews": {"package_name": "com.example.app", "review": "Crashes every time.",
                       "date": "October 12 2016", "star": 1},
    "t0_imdb": {"text": "A moving film with a great cast.", "label": 1},
    "t0_rotten_tomatoes": {"text": "a dull, lifeless affair.", "label": 0},
    "t0_yelp_review_full": {"label": 4, "text": "Best tacos in town, friendly staff."},
    # ------------------------------------------------------------------ topic classification
    "t0_ag_news": {"text": "Stocks rallied on Wall Street after strong earnings.", "label": 2},
    "t0_dbpedia_14": {"label": 13, "title": "Moby-Dick",
                      "content": "Moby-Dick is an 1851 novel by Herman Melville."},
    "t0_trec": {"text": "How far is it from Denver to Aspen?", "coarse_label": 5, "fine_label": 40},
    # ------------------------------------------------------------------ structure to text
    "t0_common_gen": {"concept_set_idx": 0, "concepts": ["ski", "mountain", "skier"],
                      "target": "A skier skis down the mountain."},
    "t0_wiki_bio": {"input_text": {"table": {"column_header": ["name", "article_title",
                                                               "birth_date"],
                                             "row_number": [1, 1, 1],
                                             "content": ["Walter Extra", "walter extra", "1954"]},
                                   "context": "walter extra\n"},
                    "target_text": "Walter Extra (born 1954) is a German aircraft designer."},
    # ------------------------------------------------------------------ summarization
    "t0_cnn_dailymail": {"article": "The city council approved a new park on Monday.",
                         "highlights": "Council approves new park.", "id": "abc"},
    "t0_gigaword": {"document": "australia 's current account deficit shrunk by a record .",
                    "summary": "australian current account deficit narrows sharply"},
    "t0_multi_news": {"document": "First article text. ||||| Second article text.",
                      "summary": "Two articles about one event."},
    "t0_samsum": {"id": "13818513", "dialogue": "Amanda: I baked cookies.\nJerry: Yum!",
                  "summary": "Amanda baked cookies."},
    "t0_xsum": {"document": "The bridge reopened after a year of repairs.",
                "summary": "A bridge has reopened.", "id": "1"},
    # ------------------------------------------------------------------ paraphrase
    "t0_glue_mrpc": {"sentence1": "He said the deal was done.",
                     "sentence2": "The deal was done, he said.",
                     "label": 1, "idx": 0},
    "t0_glue_qqp": {"question1": "How do I learn Python?",
                    "question2": "What is the best way to learn Python?",
                    "label": 1, "idx": 0},
    "t0_paws_labeled_final": {"id": 1, "sentence1": "The bank is by the river.",
                              "sentence2": "The river is by the bank.", "label": 0},
}
# Same schema as a sibling entry.
for _name in ("t0_anli_r2", "t0_anli_r3"):
    ROWS[_name] = ROWS["t0_anli_r1"]
for _name in ("t0_adversarial_qa_dbert", "t0_adversarial_qa_droberta"):
    ROWS[_name] = ROWS["t0_adversarial_qa_dbidaf"]
ROWS["t0_duorc_self_rc"] = ROWS["t0_duorc_paraphrase_rc"]

ENTRY_NAMES = [e.name for e in t0.ENTRIES]


def test_every_entry_has_a_row_and_is_registered():
    assert sorted(ROWS) == sorted(ENTRY_NAMES)
    assert len(ENTRY_NAMES) == len(set(ENTRY_NAMES))
    for entry in t0.ENTRIES:
        assert registry.get_entry(entry.name) is entry
        assert entry.collection == "t0"
        assert entry.cluster in t0.CLUSTERS_TRAIN + t0.CLUSTERS_HELDOUT


@pytest.mark.parametrize("name", ENTRY_NAMES)
def test_templates_render_hf_rows(name):
    entry = registry.get_entry(name)
    fields = entry.fields_of(ROWS[name])
    assert fields is not None
    if entry.eval_mode == "rank":
        assert fields["options"] and all(isinstance(o, str) for o in fields["options"])
        assert "answer" in fields
    for template in entry.templates:
        assert template.fields() <= set(entry.fields), template.name
        rendered = template.render(fields)
        assert rendered is not None, f"{name}:{template.name} skipped a labelled row"
        assert rendered.inputs.strip() and rendered.targets.strip(), template.name
        assert "|||" not in rendered.inputs + rendered.targets
        if template.answer_choices is not None:
            assert rendered.targets in rendered.answer_options, (template.name, rendered)
            assert len(set(rendered.answer_options)) == len(rendered.answer_options)
        if entry.eval_mode == "rank":
            assert template.answer_choices is not None, f"{name}:{template.name}"


def test_gold_answers():
    def gold(name):
        return registry.get_entry(name).fields_of(ROWS[name])["answer"]

    assert gold("t0_super_glue_rte") == "not_entailment"
    assert gold("t0_super_glue_cb") == "neutral"
    assert gold("t0_hellaswag") == "starts pulling up roofing on a roof."
    assert gold("t0_social_i_qa") == "like attending"
    assert gold("t0_qasc") == "beads"
    assert gold("t0_quarel") == "floor"
    assert gold("t0_app_reviews") == "1"
    assert gold("t0_story_cloze_2016") == "He is happy now."
    assert gold("t0_winogrande_xl") == "1"  # the HF column is kept
    sciq = registry.get_entry("t0_sciq").fields_of(ROWS["t0_sciq"])
    assert sciq["answer"] == "mesophilic organisms" and len(sciq["options"]) == 4
    wiqa = registry.get_entry("t0_wiqa").fields_of(ROWS["t0_wiqa"])
    assert wiqa["answer"] == "no effect"


def test_specific_renderings():
    rte = registry.get_entry("t0_super_glue_rte")
    fields = rte.fields_of(ROWS["t0_super_glue_rte"])
    targets = {t.name: t.render(fields).targets for t in rte.templates}
    assert targets["claim_true_false"] == "False"
    assert targets["premise_then_question"] == "No"
    wg = registry.get_entry("t0_winogrande_xl")
    by_name = {t.name: t for t in wg.templates}
    r = by_name["which_sentence_makes_sense"].render(wg.fields_of(ROWS["t0_winogrande_xl"]))
    assert r.targets == "The trophy doesn't fit in the case because the trophy is too big."
    news = registry.get_entry("t0_multi_news").fields_of(ROWS["t0_multi_news"])
    assert news["document"] == "First article text.\n\nSecond article text."
    bio = registry.get_entry("t0_wiki_bio")
    r = bio.templates[0].render(bio.fields_of(ROWS["t0_wiki_bio"]))
    text = r.inputs + r.targets
    assert "birth date: 1954" in text and "article title" not in text


def test_unlabelled_rows_are_skipped():
    cases = {
        "t0_super_glue_rte": {**ROWS["t0_super_glue_rte"], "label": -1},
        "t0_hellaswag": {**ROWS["t0_hellaswag"], "label": ""},
        "t0_winogrande_xl": {**ROWS["t0_winogrande_xl"], "answer": ""},
        "t0_social_i_qa": {**ROWS["t0_social_i_qa"], "label": ""},
        "t0_duorc_self_rc": {**ROWS["t0_duorc_self_rc"], "answers": [], "no_answer": True},
        "t0_hotpot_qa": {**ROWS["t0_hotpot_qa"], "output": []},
    }
    for name, row in cases.items():
        entry = registry.get_entry(name)
        fields = entry.fields_of(row)
        assert all(t.render(fields) is None for t in entry.templates), name


def test_old_trec_and_story_cloze_csv_columns():
    trec = registry.get_entry("t0_trec")
    old = {"text": "Who wrote Hamlet?", "label-coarse": 3, "label-fine": 29}
    assert trec.fields_of(old)["answer"] == "Person"
    sc = registry.get_entry("t0_story_cloze_2016")
    csv_row = {"InputStoryid": "x", "InputSentence1": "a.", "InputSentence2": "b.",
               "InputSentence3": "c.", "InputSentence4": "d.",
               "RandomFifthSentenceQuiz1": "e.", "RandomFifthSentenceQuiz2": "f.",
               "AnswerRightEnding": 2}
    fields = sc.fields_of(csv_row)
    assert fields["answer"] == "f."
    by_name = {t.name: t for t in sc.templates}
    assert by_name["most_fitting_end"].render(fields).targets == "f."
    assert by_name["ending_number"].render(fields).targets == "2"
    assert sc.source.data_files["validation"].endswith("cloze_test_ALL_val.csv")


def test_heldout_datasets_and_clusters():
    heldout = [e for e in t0.ENTRIES if e.cluster in t0.CLUSTERS_HELDOUT]
    assert heldout == t0.HELDOUT_ENTRIES
    datasets_by_cluster = collections.defaultdict(set)
    for e in heldout:
        datasets_by_cluster[e.cluster].add(e.paper_dataset)
        assert e.eval_mode == "rank" and e.metric == "accuracy"
        assert len(e.templates) >= 5, e.name  # T0 reports the median over templates
        assert e.eval_split in e.source.splits
    assert set(datasets_by_cluster) == set(t0.CLUSTERS_HELDOUT)
    # T0's 11 held-out evaluation sets count ANLI's three rounds apart: 9 paper datasets.
    assert len(heldout) == 11
    assert sum(len(v) for v in datasets_by_cluster.values()) == 9
    assert {n for n in ("anli", "super_glue_cb", "super_glue_rte")} == datasets_by_cluster["nli"]
    anli = [e for e in heldout if e.paper_dataset == "anli"]
    assert [e.source.splits["validation"] for e in anli] == ["dev_r1", "dev_r2", "dev_r3"]


def test_training_clusters():
    train = [e for e in t0.ENTRIES if e.cluster in t0.CLUSTERS_TRAIN]
    assert {e.cluster for e in train} == set(t0.CLUSTERS_TRAIN)
    assert len({e.paper_dataset for e in train}) == 35  # adversarial_qa and duorc once each
    for e in train:
        assert len(e.templates) >= 3, e.name
        assert e.train_split in e.source.splits and e.eval_split in e.source.splits
    assert t0.T0_MAX_EXAMPLES == 500_000


def test_hf_source_json_end_to_end(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    rows = [ROWS["t0_super_glue_rte"], {**ROWS["t0_super_glue_rte"], "idx": 1, "label": 0}]
    path = tmp_path / "rte.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    source = sources.HfSource(
        path="json", data_files={"train": str(path)}, splits={"train": "train"}
    )
    ds = source.to_seqio().get_dataset("train", shuffle=False)
    decoded = [sources.decode_example(ex) for ex in ds.as_numpy_iterator()]
    assert decoded == rows
    entry = registry.get_entry("t0_super_glue_rte")
    answers = [entry.fields_of(r)["answer"] for r in decoded]
    assert answers == ["not_entailment", "entailment"]
    rendered = entry.templates[0].render(entry.fields_of(decoded[1]))
    assert rendered.targets == rendered.answer_options[0]
