-- rtk-lsp for Neovim (0.7 and later): start the language server and plan a task's
-- context into a scratch buffer with :RtkPlan {task}.
--
--   local rtk = dofile('/path/to/rtk.lua')   -- or put it on 'runtimepath' as lua/rtk.lua
--   rtk.setup({ cmd = { 'rtk-lsp', 'lsp' }, settings = { tokenBudget = 6000 } })
--
-- setup() starts (or reuses) a client for the buffer's git root whenever a file is
-- opened, and defines :RtkPlan, which waits for a server that is still starting.
-- start() and plan() can also be called directly.

local M = {}

M.name = 'rtk'
M.config = {
  cmd = { 'rtk-lsp', 'lsp' },
  cmd_env = nil,
  settings = {}, -- the `rtk` settings: tokenBudget, exclude, maxFileSize, historyDepth, planTimeout, http
  filetypes = nil, -- nil: every file buffer
  start_timeout = 60, -- seconds :RtkPlan waits for a server that is still starting
}
M.http = nil -- {url, port} once the server's HTTP endpoint is up

local has = function(feature)
  return vim.fn.has(feature) == 1
end

local function notify(message, level)
  vim.notify('rtk: ' .. message, level or vim.log.levels.INFO)
end

-- The directory holding .git above `path`, else the working directory.
local function root_for(path)
  local start = (path ~= nil and path ~= '') and vim.fn.fnamemodify(path, ':p:h') or vim.fn.getcwd()
  local dir = vim.fn.finddir('.git', start .. ';')
  if dir == '' then
    dir = vim.fn.findfile('.git', start .. ';') -- worktrees and submodules have a .git file
  end
  if dir ~= '' then
    local git = vim.fn.fnamemodify(dir, ':p'):gsub('/$', '')
    return vim.fn.fnamemodify(git, ':h')
  end
  return vim.fn.getcwd()
end

local function clients()
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ name = M.name })
  end
  local found = {}
  for _, c in ipairs(vim.lsp.get_active_clients()) do
    if c.name == M.name then
      table.insert(found, c)
    end
  end
  return found
end

-- Clients started by start(), by root: 0.7 lists a client only once it is initialized, and a
-- second start() for the same root while the first is starting must not spawn another server.
local started = {}

-- The rtk client serving `bufnr` (the one whose root contains the buffer), else any.
-- It may still be starting (`client.initialized` false).
function M.client(bufnr)
  local path = vim.api.nvim_buf_get_name(bufnr or 0)
  local best, best_len = nil, -1
  for _, c in ipairs(clients()) do
    local root = c.config.root_dir or ''
    local inside = path:sub(1, #root + 1) == root .. '/'
    if inside and #root > best_len then
      best, best_len = c, #root
    elseif best == nil then
      best = c
    end
  end
  return best
end

local function request(client, method, params, handler, bufnr)
  if has('nvim-0.11') then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

-- Start (or reuse) the client for a buffer's root and attach the buffer. Returns the client id.
function M.start(opts)
  opts = vim.tbl_deep_extend('force', M.config, opts or {})
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local root = opts.root_dir or root_for(vim.api.nvim_buf_get_name(bufnr))
  local config = {
    name = M.name,
    cmd = opts.cmd,
    cmd_env = opts.cmd_env,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ':t') } },
    init_options = opts.settings,
    settings = { rtk = opts.settings },
    handlers = {
      ['rtk/httpReady'] = function(_, result)
        M.http = result
      end,
    },
  }
  local named = vim.api.nvim_buf_get_name(bufnr) ~= ''
  local running = started[root] and vim.lsp.get_client_by_id(started[root])
  if running then
    if named then
      vim.lsp.buf_attach_client(bufnr, running.id)
    end
    return running.id
  end
  local id
  if vim.lsp.start then -- 0.8+: also reuses a client of the same name and root started elsewhere
    id = vim.lsp.start(config, { bufnr = bufnr })
  else
    for _, c in ipairs(clients()) do
      if c.config.root_dir == root then
        vim.lsp.buf_attach_client(bufnr, c.id)
        return c.id
      end
    end
    id = vim.lsp.start_client(config)
    if id and named then
      vim.lsp.buf_attach_client(bufnr, id)
    end
  end
  started[root] = id
  return id
end

-- Calls on_ready(client) once the client `id` is initialized, or on_ready(nil, why) when it
-- stops first or is not ready within `timeout` seconds. Polls on a timer: the editor stays usable.
local function when_ready(id, timeout, on_ready)
  local uv = vim.uv or vim.loop
  local deadline = uv.now() + timeout * 1000
  local function check()
    local c = vim.lsp.get_client_by_id(id) -- nil once it has exited
    if c == nil then
      on_ready(nil, 'the rtk language server stopped while starting (see :lua print(vim.lsp.get_log_path()))')
    elseif c.initialized then
      on_ready(c)
    elseif uv.now() > deadline then
      on_ready(nil, string.format('the rtk language server was not ready after %d s', timeout))
    else
      vim.defer_fn(check, 50)
    end
  end
  check()
end

local function lines_of(plan)
  local report = plan.budget_report or {}
  local out = {
    '# rtk plan: ' .. (plan.task or ''),
    '',
    string.format(
      'root %s, %s/%s tokens, %d files',
      plan.root or '?',
      tostring(report.estimated_used or '?'),
      tostring(report.token_budget or '?'),
      #(plan.selected or {})
    ),
    '',
    '## Selected',
    '',
  }
  for _, s in ipairs(plan.selected or {}) do
    local names = {}
    for _, sym in ipairs(s.symbols or {}) do
      table.insert(names, sym.name)
    end
    local reasons = type(s.reasons) == 'table' and table.concat(s.reasons, '; ') or ''
    table.insert(out, string.format('- %s  (~%s tokens) %s', s.rel_path, tostring(s.estimated_tokens or '?'), reasons))
    if #names > 0 then
      table.insert(out, '  ' .. table.concat(names, ', '))
    end
  end
  if type(plan.context) == 'string' and plan.context ~= '' then
    vim.list_extend(out, { '', '## Context', '' })
    vim.list_extend(out, vim.split(plan.context, '\n', { plain = true }))
  end
  return out
end

-- Show a plan object in a new scratch buffer (split); returns the buffer number.
function M.show(plan)
  vim.cmd('new')
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].swapfile = false
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines_of(plan))
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = 'markdown'
  vim.b[buf].rtk_task = plan.task
  return buf
end

-- Ask the server for a plan for `task` and show it. opts: budget, detail, on_result(err, plan, buf).
function M.plan(task, opts)
  opts = opts or {}
  if task == nil or vim.trim(task) == '' then
    notify('usage: :RtkPlan {task}', vim.log.levels.WARN)
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local function failed(message)
    notify(message, vim.log.levels.ERROR)
    if opts.on_result then
      opts.on_result({ message = message }, nil, nil)
    end
  end
  local params = { task = task, budget = opts.budget, detail = opts.detail }
  if vim.api.nvim_buf_get_name(bufnr) ~= '' then
    params.uri = vim.uri_from_bufnr(bufnr) -- plan in the folder of this buffer
  end
  local function send(client)
    request(client, 'rtk/planContext', params, function(err, result)
      local buf = nil
      if err then
        notify(err.message or tostring(err), vim.log.levels.ERROR)
      else
        buf = M.show(result)
      end
      if opts.on_result then
        opts.on_result(err, result, buf)
      end
    end, bufnr)
  end

  local client = M.client(bufnr)
  if client ~= nil and client.initialized then
    return send(client)
  end
  -- Right after a file is opened the server is still starting (or, without setup(), not started).
  local ok, id = pcall(M.start, { bufnr = bufnr })
  if not ok or id == nil then
    local why = ok and 'is it installed, and on PATH?' or tostring(id)
    return failed('cannot start the rtk language server `' .. table.concat(M.config.cmd, ' ') .. '`: ' .. why)
  end
  notify('waiting for the rtk language server to start…')
  when_ready(id, M.config.start_timeout, function(ready, why)
    if ready == nil then
      return failed(why)
    end
    send(ready)
  end)
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', M.config, opts or {})
  vim.api.nvim_create_user_command('RtkPlan', function(command)
    M.plan(command.args)
  end, { nargs = '+', desc = 'Plan the context of a task with rtk-lsp' })
  local group = vim.api.nvim_create_augroup('rtk_lsp', { clear = true })
  vim.api.nvim_create_autocmd(M.config.filetypes and 'FileType' or 'BufReadPost', {
    group = group,
    pattern = M.config.filetypes or '*',
    callback = function(args)
      if vim.bo[args.buf].buftype == '' then
        M.start({ bufnr = args.buf })
      end
    end,
  })
end

return M
