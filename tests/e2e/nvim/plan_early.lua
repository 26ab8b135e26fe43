-- :RtkPlan right after opening a file, while the server that setup() started for it is still
-- starting. Env: RTK_HARNESS, RTK_OUT, RTK_PYTHON, RTK_PYTHONPATH, RTK_CACHE, RTK_ROOT, RTK_EDITOR_LUA;
-- RTK_SERVER_EXITS=1 makes the server a process that exits at once.
local h = dofile(assert(os.getenv('RTK_HARNESS')))
local root = assert(os.getenv('RTK_ROOT'))

h.run(function(results, log)
  local rtk = dofile(assert(os.getenv('RTK_EDITOR_LUA')))
  local python = assert(os.getenv('RTK_PYTHON'))
  rtk.setup({
    cmd = os.getenv('RTK_SERVER_EXITS') and { python, '-c', 'raise SystemExit(3)' }
      or { python, '-m', 'rtk_lsp.server.lsp' },
    cmd_env = { PYTHONPATH = os.getenv('RTK_PYTHONPATH'), RTK_LSP_CACHE_DIR = os.getenv('RTK_CACHE') },
    settings = { planTimeout = 60 },
  })
  -- BufReadPost: setup()'s autocommand starts the client. :RtkPlan follows in the same tick, so the
  -- event loop has not run and the server cannot have answered `initialize` yet.
  vim.cmd('edit ' .. vim.fn.fnameescape(root .. '/billing/invoice.py'))
  local started = rtk.client(0)
  results.ready_before = started ~= nil and started.initialized == true
  vim.cmd('RtkPlan apply_discount rounding')
  table.insert(log, 'asked')

  local shown = nil
  h.wait(90000, function()
    shown = h.plan_buffer()
    if shown then
      return true
    end
    for _, note in ipairs(h.notes) do
      if note.level >= vim.log.levels.ERROR then
        return true
      end
    end
    return false
  end, ':RtkPlan showing its buffer or an error')
  results.lines = shown and vim.api.nvim_buf_get_lines(shown, 0, 20, false) or {}
  results.clients = #h.rtk_clients(started and { started.id } or {})
  table.insert(log, 'shown')
end)
