-- Driven by TestNeovim (neovim_test.go): Neovim's built-in LSP client
-- (0.7 and later) opens a broken app.cue with `paved lsp`, records the
-- diagnostics it receives, applies every quick fix the server offers,
-- waits for the diagnostics to clear, asks for a hover and a completion,
-- writes the file and quits. What it
-- saw goes to $PAVED_NVIM_OUT as JSON; the Go test judges it.
local app = os.getenv("PAVED_NVIM_APP")
local out = os.getenv("PAVED_NVIM_OUT")
local cmd = vim.fn.json_decode(os.getenv("PAVED_NVIM_CMD"))
local result = { actions = {} }

local function finish(err)
  result.error = err
  local f = assert(io.open(out, "w"))
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd("qa!")
end

local function diagnostics(bufnr)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(out, { lnum = d.lnum, col = d.col, message = d.message, severity = d.severity })
  end
  table.sort(out, function(a, b) return a.lnum < b.lnum or a.lnum == b.lnum and a.col < b.col end)
  return out
end

local function run()
  vim.cmd("edit " .. vim.fn.fnameescape(app))
  local bufnr = vim.api.nvim_get_current_buf()
  local client_id = vim.lsp.start_client({
    name = "paved",
    cmd = cmd,
    root_dir = vim.fn.fnamemodify(app, ":p:h:h"),
  })
  if not client_id then
    return finish("the LSP client did not start")
  end
  vim.lsp.buf_attach_client(bufnr, client_id)

  if not vim.wait(60000, function() return #vim.diagnostic.get(bufnr) > 0 end, 20) then
    return finish("no diagnostics arrived")
  end
  result.before = diagnostics(bufnr)

  -- Apply the quick fix of each diagnostic, last line first, as a user
  -- would: cursor on the diagnostic, code action, apply.
  for i = #result.before, 1, -1 do
    local d = result.before[i]
    vim.api.nvim_win_set_cursor(0, { d.lnum + 1, d.col })
    local params = vim.lsp.util.make_range_params()
    params.context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(bufnr, d.lnum) }
    local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", params, 30000)
    local applied = false
    for _, r in pairs(responses or {}) do
      for _, action in ipairs(r.result or {}) do
        if not applied and action.edit then
          table.insert(result.actions, action.title)
          vim.lsp.util.apply_workspace_edit(action.edit, "utf-16")
          applied = true
        end
      end
    end
    if not applied then
      return finish("no quick fix for: " .. d.message)
    end
    -- The server analyses the changed buffer; wait for it.
    local want = i - 1
    if not vim.wait(60000, function() return #vim.diagnostic.get(bufnr) == want end, 20) then
      result.after = diagnostics(bufnr)
      return finish("diagnostics did not drop to " .. want .. " after: " .. action_title_or(result.actions))
    end
  end
  result.after = diagnostics(bufnr)

  -- Hover on team, and completion inside its string: the values the
  -- platform knows.
  vim.api.nvim_win_set_cursor(0, { 5, 0 })
  local hover = vim.lsp.buf_request_sync(bufnr, "textDocument/hover", vim.lsp.util.make_position_params(), 30000)
  for _, r in pairs(hover or {}) do
    if r.result and r.result.contents then
      result.hover = r.result.contents.value
    end
  end
  local line = vim.api.nvim_buf_get_lines(bufnr, 4, 5, false)[1]
  local quote = line:find('"', 1, true) -- 1-based: the 0-based character after the quote
  local completion = vim.lsp.buf_request_sync(bufnr, "textDocument/completion", {
    textDocument = vim.lsp.util.make_text_document_params(),
    position = { line = 4, character = quote },
  }, 30000)
  result.completion = {}
  for _, r in pairs(completion or {}) do
    local items = r.result and (r.result.items or r.result) or {}
    for _, item in ipairs(items) do
      table.insert(result.completion, item.label)
    end
  end

  vim.cmd("write")

  vim.lsp.stop_client(client_id)
  vim.wait(10000, function() return vim.lsp.client_is_stopped(client_id) end, 20)
  result.stopped = vim.lsp.client_is_stopped(client_id)
  finish(nil)
end

function action_title_or(actions)
  return actions[#actions] or "(none)"
end

local ok, err = pcall(run)
if not ok then
  finish("lua error: " .. tostring(err))
end
