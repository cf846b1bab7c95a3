"""The command line: ingest reports what it did (and names broken files), chat answers in the terminal."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.settings import get_settings


@pytest.fixture
def cli_env(tmp_path, small_kb_dir, monkeypatch):
    monkeypatch.setenv("ASSISTANT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ASSISTANT_KB_DIR", str(small_kb_dir))
    get_settings.cache_clear()
    yield small_kb_dir
    get_settings.cache_clear()


def test_ingest_reports_counts_and_names_broken_files(cli_env) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["ingest"])
    assert first.exit_code == 0, first.output
    assert "新增 3" in first.output and "失败 0" in first.output
    (cli_env / "manuals/broken.docx").write_bytes(b"not a docx")
    second = runner.invoke(app, ["ingest"])
    assert second.exit_code == 1
    assert "未变 3" in second.output and "manuals/broken.docx" in second.output


def test_chat_answers_with_citations_until_an_empty_line(cli_env) -> None:
    result = CliRunner().invoke(app, ["chat"], input="卖出股票印花税多少\n\n")
    assert result.exit_code == 0, result.output
    assert "0.05%" in result.output and "《证券交易印花税说明》" in result.output


def test_token_mints_a_staff_token_the_service_accepts(cli_env) -> None:
    from assistant.channels.tokens import verify

    result = CliRunner().invoke(app, ["token", "--staff", "cmp-1", "--role", "compliance"])
    assert result.exit_code == 0, result.output
    principal = verify(get_settings(), result.output.strip())
    assert principal.subject == "cmp-1" and principal.roles == {"compliance"}
    assert CliRunner().invoke(app, ["token"]).exit_code == 2
    customer = CliRunner().invoke(app, ["token", "--customer", "100001"])
    assert verify(get_settings(), customer.output.strip()).subject == "100001"


def test_python_m_assistant_cli_offers_every_command() -> None:
    """`python -m assistant.cli` ran before the agent and audit commands were registered."""
    import subprocess
    import sys

    from assistant.settings import PROJECT_ROOT

    result = subprocess.run([sys.executable, "-m", "assistant.cli", "--help"], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    for command in ("serve", "train", "ingest", "chat", "token", "agent", "audit"):
        assert command in result.stdout
    assert "eval" not in result.stdout.split("Commands")[-1]  # evaluations are `python -m eval …`


def test_the_service_never_imports_the_evaluations() -> None:
    """The runtime environment (`uv sync --no-dev`) has no ragas, langchain-community or playwright."""
    import subprocess
    import sys

    from assistant.settings import PROJECT_ROOT

    code = ("import sys, assistant.app, assistant.cli, assistant.models; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'eval', 'ragas', 'langchain_community', 'playwright'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_train_reports_each_model_with_a_quick_check(cli_env, monkeypatch, guard_models, trigger_model) -> None:
    """The models the session has built are found by the hash of their data and not trained again."""
    from assistant.settings import PROJECT_ROOT

    monkeypatch.setenv("ASSISTANT_KB_DIR", str(PROJECT_ROOT / "knowledge_base"))
    monkeypatch.setenv("ASSISTANT_NLU_MODEL_DIR", str(PROJECT_ROOT / "var" / "nlu"))
    monkeypatch.setenv("ASSISTANT_COMPLIANCE_MODEL_DIR", str(PROJECT_ROOT / "var" / "compliance"))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["train"])
    assert result.exit_code == 0, result.output
    for title in ("意图识别模型", "输入合规检查模型", "输出合规检查模型", "转人工判断模型"):
        assert title in result.output
    assert "模型就绪" in result.output
    assert result.output.count("已是最新") == 4  # nothing trained again
